package io.dfly.source.s3;

import static io.dfly.source.SourceTesting.read;
import static io.dfly.source.SourceTesting.readInPieces;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Against s3proxy serving an in-memory store on a loopback port, with signed requests. */
class S3SourceClientTest {
  private static final String IDENTITY = "dfly-test";
  private static final String CREDENTIAL = "dfly-test-secret";
  private static final String BUCKET = "artifacts";

  private static S3Proxy proxy;
  private static String endpoint;
  private static S3SourceClient client;
  private static byte[] big;

  @BeforeAll
  static void startStore() throws Exception {
    proxy = S3Proxy.builder()
        .blobStore(new TransientNio2BlobStore())
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, IDENTITY, CREDENTIAL)
        .endpoint(URI.create("http://127.0.0.1:0"))
        .build();
    proxy.start();
    while (!proxy.getState().equals("STARTED")) {
      Thread.sleep(10);
    }
    endpoint = "http://127.0.0.1:" + proxy.getPort();

    big = new byte[3 * 1024 * 1024 + 17];
    new Random(42).nextBytes(big);
    try (S3Client writer = writer()) {
      writer.createBucket(b -> b.bucket(BUCKET));
      writer.putObject(b -> b.bucket(BUCKET).key("models/big.bin"), RequestBody.fromBytes(big));
      writer.putObject(b -> b.bucket(BUCKET).key("empty"), RequestBody.empty());
      writer.putObject(b -> b.bucket(BUCKET).key("tree/a.txt"), RequestBody.fromString("alpha"));
      writer.putObject(b -> b.bucket(BUCKET).key("tree/sub/b c.txt"), RequestBody.fromString("bravo!"));
      writer.putObject(b -> b.bucket(BUCKET).key("tree/sub/deeper/c"), RequestBody.fromString("c"));
      writer.putObject(b -> b.bucket(BUCKET).key("tree/folder/"), RequestBody.empty());
      writer.putObject(b -> b.bucket(BUCKET).key("tree2/not-below-tree"), RequestBody.fromString("x"));
    }
    client = new S3SourceClient();
    client.configure(options(IDENTITY, CREDENTIAL));
  }

  private static S3Client writer() {
    return S3Client.builder()
        .endpointOverride(URI.create(endpoint))
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(IDENTITY, CREDENTIAL)))
        .build();
  }

  @AfterAll
  static void stopStore() throws Exception {
    proxy.stop();
  }

  private static SourceOptions options(String accessKeyId, String secret) {
    SourceOptions options = new SourceOptions();
    options.s3.endpoint = endpoint;
    options.s3.pathStyle = true;
    options.s3.accessKeyId = accessKeyId;
    options.s3.secretAccessKey = secret;
    return options;
  }

  private static SourceRequest request(String url, ByteRange range) {
    return SourceRequest.whole(URI.create(url), Map.of()).withRange(range);
  }

  private static int status(SourceRequest request) {
    try {
      client.open(request).close();
      return 200;
    } catch (SourceException e) {
      assertThat(e.getMessage()).doesNotContain("\n");
      return e.statusCode();
    }
  }

  @Test
  void servedThroughServiceLoaderWithOptions() throws IOException {
    SourceClients clients = SourceClients.create(options(IDENTITY, CREDENTIAL));
    URI url = clients.checkUrl("s3://" + BUCKET + "/tree/a.txt");
    assertThat(read(clients.forUrl(url).open(SourceRequest.whole(url, Map.of())))).asString().isEqualTo("alpha");
  }

  @Test
  void readsWholeObject() throws IOException {
    SourceResponse response = client.open(request("s3://" + BUCKET + "/models/big.bin", null));
    assertThat(response.ranged()).isFalse();
    assertThat(response.totalLength()).isEqualTo(big.length);
    assertThat(read(response)).isEqualTo(big);
  }

  @Test
  void readsRangesWithTheTotalLength() throws IOException {
    SourceResponse probe = client.open(request("s3://" + BUCKET + "/models/big.bin", new ByteRange(0, 0)));
    assertThat(probe.ranged()).isTrue();
    assertThat(probe.totalLength()).isEqualTo(big.length);
    assertThat(read(probe)).containsExactly(big[0]);

    SourceResponse middle = client.open(request("s3://" + BUCKET + "/models/big.bin", new ByteRange(1_000_000, 2_048_575)));
    assertThat(middle.totalLength()).isEqualTo(big.length);
    assertThat(read(middle)).isEqualTo(Arrays.copyOfRange(big, 1_000_000, 2_048_576));

    SourceResponse tail = client.open(request("s3://" + BUCKET + "/models/big.bin", new ByteRange(big.length - 5, big.length + 1000)));
    assertThat(read(tail)).isEqualTo(Arrays.copyOfRange(big, big.length - 5, big.length));
  }

  @Test
  void readsPiecesFromManyThreadsAndSurvivesAnEarlyClose() throws Exception {
    byte[] joined = readInPieces(client,
        range -> request("s3://" + BUCKET + "/models/big.bin", range), big.length, 256 * 1024);
    assertThat(joined).isEqualTo(big);
    // a whole body closed after a few bytes must not leave the client stuck or broken
    try (SourceResponse whole = client.open(request("s3://" + BUCKET + "/models/big.bin", null))) {
      assertThat(whole.stream().readNBytes(10)).isEqualTo(Arrays.copyOf(big, 10));
    }
    assertThat(read(client.open(request("s3://" + BUCKET + "/tree/a.txt", null)))).asString().isEqualTo("alpha");
  }

  @Test
  void rangePastTheEndIs416AndEmptyObjectOpensWhole() throws IOException {
    assertThat(status(request("s3://" + BUCKET + "/models/big.bin", new ByteRange(big.length, big.length + 10)))).isEqualTo(416);
    assertThat(status(request("s3://" + BUCKET + "/empty", new ByteRange(0, 0)))).isEqualTo(416);
    SourceResponse empty = client.open(request("s3://" + BUCKET + "/empty", null));
    assertThat(empty.totalLength()).isZero();
    assertThat(read(empty)).isEmpty();
  }

  @Test
  void missingKeyAndBucketAre404WithTheirOwnMessages() {
    assertThatThrownBy(() -> client.open(request("s3://" + BUCKET + "/no/such/key", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.getMessage()).isEqualTo("s3 object s3://" + BUCKET + "/no/such/key not found (HTTP 404)");
        });
    assertThatThrownBy(() -> client.open(request("s3://no-such-bucket/key", new ByteRange(0, 0))))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.getMessage()).isEqualTo("s3 bucket no-such-bucket not found (HTTP 404)");
        });
  }

  @Test
  void wrongCredentialsAre403() {
    S3SourceClient wrong = new S3SourceClient();
    wrong.configure(options(IDENTITY, "not-the-secret"));
    assertThatThrownBy(() -> wrong.open(request("s3://" + BUCKET + "/tree/a.txt", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(403);
          assertThat(e.getMessage()).startsWith("access to s3://" + BUCKET + "/tree/a.txt denied");
        });
  }

  @Test
  void unreachableEndpointIsAOneLineError() {
    S3SourceClient down = new S3SourceClient();
    SourceOptions options = options(IDENTITY, CREDENTIAL);
    options.s3.endpoint = "http://127.0.0.1:1";
    down.configure(options);
    assertThatThrownBy(() -> down.open(request("s3://" + BUCKET + "/tree/a.txt", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isZero();
          assertThat(e.getMessage()).startsWith("s3 request for s3://" + BUCKET + "/tree/a.txt failed: ")
              .contains("127.0.0.1:1").endsWith("Connection refused")
              .doesNotContain("\n");
        });
  }

  @Test
  void halfConfiguredCredentialsAreRefused() {
    assertThatThrownBy(() -> new S3SourceClient().configure(options(IDENTITY, "")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("access-key-id and secret-access-key");
  }

  @Test
  void listsEveryObjectBelowAPrefix() throws IOException {
    for (String url : List.of("s3://" + BUCKET + "/tree", "s3://" + BUCKET + "/tree/")) {
      List<SourceEntry> entries = client.list(request(url, null));
      assertThat(entries).extracting(SourceEntry::relativePath).containsExactly("a.txt", "sub/b c.txt", "sub/deeper/c");
      assertThat(entries).extracting(SourceEntry::length).containsExactly(5L, 6L, 1L);
      SourceEntry spaced = entries.get(1);
      assertThat(spaced.url().toString()).isEqualTo("s3://" + BUCKET + "/tree/sub/b%20c.txt");
      assertThat(read(client.open(SourceRequest.whole(spaced.url(), Map.of())))).asString().isEqualTo("bravo!");
    }
  }

  @Test
  void listingAnEmptyPrefixOrMissingBucketFails() {
    assertThatThrownBy(() -> client.list(request("s3://" + BUCKET + "/nothing-here/", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
    assertThatThrownBy(() -> client.list(request("s3://no-such-bucket/x/", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.getMessage()).contains("bucket no-such-bucket not found"));
  }

  @Test
  void listsPastOnePage() throws Exception {
    // s3proxy pages at 1000 keys like S3; make the client follow continuation tokens
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (S3Client writer = writer()) {
      List<Future<?>> puts = new ArrayList<>();
      for (int i = 0; i < 1005; i++) {
        String key = "many/%04d".formatted(i);
        puts.add(pool.submit(() -> writer.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.empty())));
      }
      for (Future<?> put : puts) {
        put.get();
      }
    } finally {
      pool.shutdownNow();
    }
    List<SourceEntry> entries = client.list(request("s3://" + BUCKET + "/many/", null));
    assertThat(entries).hasSize(1005);
    assertThat(entries.get(1004).relativePath()).isEqualTo("1004");
  }
}
