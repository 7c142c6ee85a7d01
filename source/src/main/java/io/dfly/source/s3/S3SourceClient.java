package io.dfly.source.s3;

import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClient;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * s3://bucket/key URLs, on AWS S3 or an S3-compatible store ({@link SourceOptions.S3}). One SDK
 * client, built on first use, serves all threads: it is thread-safe and pools connections.
 */
public final class S3SourceClient implements SourceClient {
  private SourceOptions.S3 options = new SourceOptions.S3();
  private volatile S3Client client;

  @Override
  public Set<String> schemes() {
    return Set.of("s3");
  }

  @Override
  public void configure(SourceOptions sourceOptions) {
    SourceOptions.S3 s3 = sourceOptions.s3;
    if (s3.accessKeyId.isEmpty() != s3.secretAccessKey.isEmpty()) {
      throw new IllegalArgumentException("source.s3: set both access-key-id and secret-access-key, or neither");
    }
    if (!s3.endpoint.isEmpty()) {
      URI endpoint = URI.create(s3.endpoint);
      if (endpoint.getScheme() == null || endpoint.getHost() == null) {
        throw new IllegalArgumentException("source.s3.endpoint '" + s3.endpoint + "' is not a URL like http://host:port");
      }
    }
    this.options = s3;
  }

  @Override
  public SourceResponse open(SourceRequest request) throws SourceException {
    Location location = Location.of(request.url());
    if (location.key().isEmpty()) {
      throw new SourceException("s3 URL " + request.url() + " names no object; use s3://bucket/key", 400);
    }
    GetObjectRequest.Builder get = GetObjectRequest.builder().bucket(location.bucket()).key(location.key());
    ByteRange range = request.range();
    if (range != null) {
      get.range(range.header());
    }
    ResponseInputStream<GetObjectResponse> body;
    try {
      body = client().getObject(get.build());
    } catch (SdkException e) {
      throw failure(e, location, range);
    }
    GetObjectResponse response = body.response();
    long length = response.contentLength() == null ? -1 : response.contentLength();
    String contentRange = response.contentRange();
    if (range != null && contentRange != null) {
      return new SourceResponse(totalFromContentRange(contentRange), true, new AbortingChannel(body, length));
    }
    // no range asked, or a store that ignored it and sends the whole object
    return new SourceResponse(length, false, new AbortingChannel(body, length));
  }

  @Override
  public List<SourceEntry> list(SourceRequest request) throws SourceException {
    Location location = Location.of(request.url());
    // s3://bucket/dir and s3://bucket/dir/ both mean the keys below dir/, not dir2/...
    String prefix = location.key().isEmpty() || location.key().endsWith("/") ? location.key() : location.key() + "/";
    List<SourceEntry> entries = new ArrayList<>();
    try {
      for (S3Object object : client().listObjectsV2Paginator(b -> b.bucket(location.bucket()).prefix(prefix)).contents()) {
        String key = object.key();
        if (key.endsWith("/")) { // a folder marker made by consoles, not a file
          continue;
        }
        String relative = key.substring(prefix.length());
        if (!SourceEntry.isSafeRelativePath(relative)) {
          throw new SourceException("s3 key '" + key + "' in bucket " + location.bucket()
              + " cannot be saved safely below the download directory", 400);
        }
        entries.add(new SourceEntry(location.urlOf(key), relative, object.size() == null ? -1 : object.size()));
      }
    } catch (SdkException e) {
      throw failure(e, new Location(location.bucket(), prefix), null);
    }
    if (entries.isEmpty()) {
      throw new SourceException("no s3 objects below s3://" + location.bucket() + "/" + prefix, 404);
    }
    return entries;
  }

  private S3Client client() {
    S3Client current = client;
    if (current == null) {
      synchronized (this) {
        current = client;
        if (current == null) {
          current = build(options);
          client = current;
        }
      }
    }
    return current;
  }

  private static S3Client build(SourceOptions.S3 options) {
    S3ClientBuilder builder = S3Client.builder()
        .httpClientBuilder(Apache5HttpClient.builder()
            .maxConnections(64) // pieces are fetched from many threads at once
            .connectionTimeout(Duration.ofSeconds(10))
            .socketTimeout(Duration.ofSeconds(60)))
        .region(Region.of(options.region))
        .forcePathStyle(options.pathStyle)
        // S3-compatible stores do not all know the newer checksum headers; reads need none
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .credentialsProvider(credentials(options));
    if (options.endpoint.isEmpty()) {
      builder.crossRegionAccessEnabled(true); // buckets in other regions than the configured one
    } else {
      builder.endpointOverride(URI.create(options.endpoint));
    }
    return builder.build();
  }

  private static AwsCredentialsProvider credentials(SourceOptions.S3 options) {
    if (!options.accessKeyId.isEmpty()) {
      return StaticCredentialsProvider.create(AwsBasicCredentials.create(options.accessKeyId, options.secretAccessKey));
    }
    // public buckets need no credentials: fall back to unsigned requests
    return AwsCredentialsProviderChain.builder()
        .credentialsProviders(DefaultCredentialsProvider.builder().build(), AnonymousCredentialsProvider.create())
        .build();
  }

  private static SourceException failure(SdkException e, Location location, ByteRange range) {
    if (!(e instanceof S3Exception s3)) {
      // the SDK's own message is a paragraph of advice; the root cause names the problem
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String reason = root == e ? oneLine(e.getMessage())
          : root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + oneLine(root.getMessage()));
      return new SourceException("s3 request for " + location + " failed: " + reason, e);
    }
    int status = s3.statusCode();
    String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
    String message = switch (status) {
      case 404 -> "NoSuchBucket".equals(code)
          ? "s3 bucket " + location.bucket() + " not found"
          : "s3 object " + location + " not found";
      case 403 -> "access to " + location + " denied" + (code == null ? "" : " (" + code + ")");
      case 416 -> "range " + (range == null ? "" : range.header() + " ") + "is outside s3 object " + location;
      case 301 -> "s3 bucket " + location.bucket() + " is in another region or needs another endpoint";
      default -> "s3 request for " + location + " failed: "
          + (code == null ? "" : code + ": ") + oneLine(s3.awsErrorDetails() == null ? s3.getMessage()
              : s3.awsErrorDetails().errorMessage());
    };
    return new SourceException(message + " (HTTP " + status + ")", status);
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s+", " ").trim();
  }

  /** Total length from {@code Content-Range: bytes a-b/total}; -1 when it is {@code *}. */
  private static long totalFromContentRange(String header) {
    int slash = header.lastIndexOf('/');
    try {
      return slash < 0 ? -1 : Long.parseLong(header.substring(slash + 1).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Bucket and key of an s3:// URL; the key is the decoded path without its leading '/'. */
  record Location(String bucket, String key) {
    static Location of(URI url) throws SourceException {
      String bucket = url.getHost() != null ? url.getHost() : url.getAuthority();
      if (bucket == null || bucket.isEmpty()) {
        throw new SourceException("s3 URL " + url + " names no bucket; use s3://bucket/key", 400);
      }
      String path = url.getPath() == null ? "" : url.getPath();
      return new Location(bucket, path.startsWith("/") ? path.substring(1) : path);
    }

    URI urlOf(String objectKey) {
      try {
        return new URI("s3", bucket, "/" + objectKey, null); // quotes what a URL cannot hold
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("s3 key '" + objectKey + "' makes no URL", e);
      }
    }

    @Override
    public String toString() {
      return "s3://" + bucket + "/" + key;
    }
  }

  /**
   * Closes a body read to its end normally (its connection goes back to the pool) but aborts
   * one closed early: the SDK would otherwise read the rest of a large object to reuse it.
   */
  private static final class AbortingChannel implements ReadableByteChannel {
    private final ResponseInputStream<GetObjectResponse> stream;
    private final ReadableByteChannel channel;
    private long remaining;
    private boolean ended;

    /** {@code length}: the body's Content-Length, -1 when unknown (then only EOF ends it). */
    AbortingChannel(ResponseInputStream<GetObjectResponse> stream, long length) {
      this.stream = stream;
      this.channel = Channels.newChannel(stream);
      this.remaining = length;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      int n = channel.read(dst);
      if (n < 0) {
        ended = true;
      } else if (remaining >= 0) {
        remaining -= n;
        ended = remaining <= 0; // a caller reading exactly the range stops without seeing EOF
      }
      return n;
    }

    @Override
    public boolean isOpen() {
      return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
      if (!ended) {
        stream.abort();
      }
      channel.close();
    }
  }
}
