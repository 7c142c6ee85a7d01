package io.dfly.source.hdfs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClient;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * hdfs:// URLs, read over the namenode's WebHDFS REST API, so no Hadoop client is needed:
 * {@code hdfs://namenode:port/path}, where port is the namenode's HTTP port
 * ({@code dfs.namenode.http-address}, {@value #DEFAULT_PORT} when the URL has none), not its
 * RPC port. {@code webhdfs://} URLs, which name that port by definition, are served the same.
 * The namenode redirects reads to a datanode holding the data; that redirect is followed.
 * Authentication is WebHDFS's simple one ({@link SourceOptions.Hdfs#user}); Kerberos is not.
 */
public final class HdfsSourceClient implements SourceClient {
  static final int DEFAULT_PORT = 9870;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NORMAL) // namenode -> datanode is a 307
      .connectTimeout(Duration.ofSeconds(10))
      .build();
  private String user = "";

  @Override
  public Set<String> schemes() {
    return Set.of("hdfs", "webhdfs");
  }

  @Override
  public void configure(SourceOptions options) {
    user = options.hdfs.user;
  }

  @Override
  public SourceResponse open(SourceRequest request) throws SourceException {
    URI url = request.url();
    FileStatus status = status(url, request.timeout());
    if (status.directory()) {
      throw new SourceException("hdfs path " + url + " is a directory; fetch it recursively", 400);
    }
    String query = "op=OPEN";
    ByteRange range = request.range();
    if (range != null) {
      if (range.first() >= status.length() || range.first() > range.last()) {
        throw new SourceException("range " + range.header() + " is outside " + url
            + " (" + status.length() + " bytes)", 416);
      }
      long last = Math.min(range.last(), status.length() - 1);
      query += "&offset=" + range.first() + "&length=" + (last - range.first() + 1);
    }
    HttpResponse<InputStream> response = send(webhdfs(url, url.getRawPath(), query), url, request.timeout());
    if (response.statusCode() != 200) {
      throw failure(response, url, "OPEN");
    }
    return SourceResponse.of(status.length(), range != null, response.body());
  }

  @Override
  public List<SourceEntry> list(SourceRequest request) throws SourceException {
    URI url = request.url();
    if (!status(url, request.timeout()).directory()) {
      throw new SourceException("hdfs path " + url + " is not a directory", 400);
    }
    List<SourceEntry> entries = new ArrayList<>();
    walk(url, "", request.timeout(), entries);
    entries.sort(Comparator.comparing(SourceEntry::relativePath));
    return entries;
  }

  private void walk(URI dir, String relativeDir, Duration timeout, List<SourceEntry> entries) throws SourceException {
    JsonNode statuses = getJson(dir, "LISTSTATUS", timeout).path("FileStatuses").path("FileStatus");
    for (JsonNode node : statuses) {
      FileStatus child = FileStatus.of(node);
      String relative = relativeDir + child.name();
      if (!SourceEntry.isSafeRelativePath(relative)) {
        throw new SourceException("hdfs name '" + relative + "' below " + dir
            + " cannot be saved safely", 400);
      }
      URI childUrl = child(dir, child.name());
      if (child.directory()) {
        walk(childUrl, relative + "/", timeout, entries);
      } else if (child.file()) { // symlinks are skipped: WebHDFS does not resolve them for OPEN
        entries.add(new SourceEntry(childUrl, relative, child.length()));
      }
    }
  }

  private FileStatus status(URI url, Duration timeout) throws SourceException {
    return FileStatus.of(getJson(url, "GETFILESTATUS", timeout).path("FileStatus"));
  }

  private JsonNode getJson(URI url, String op, Duration timeout) throws SourceException {
    HttpResponse<InputStream> response = send(webhdfs(url, url.getRawPath(), "op=" + op), url, timeout);
    if (response.statusCode() != 200) {
      throw failure(response, url, op);
    }
    try (InputStream body = response.body()) {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new SourceException("namenode " + authority(url) + " sent a bad " + op + " answer: " + oneLine(e.getMessage()), e);
    }
  }

  /** The WebHDFS URL of {@code rawPath} on the namenode that {@code url} names. */
  URI webhdfs(URI url, String rawPath, String query) {
    String path = rawPath == null || rawPath.isEmpty() ? "/" : rawPath;
    String userParam = user.isEmpty() ? "" : "&user.name=" + URLEncoder.encode(user, StandardCharsets.UTF_8);
    return URI.create("http://" + authority(url) + "/webhdfs/v1" + path + "?" + query + userParam);
  }

  private static String authority(URI url) {
    return url.getHost() + ":" + (url.getPort() < 0 ? DEFAULT_PORT : url.getPort());
  }

  private static URI child(URI dir, String name) throws SourceException {
    String path = dir.getPath() == null || dir.getPath().isEmpty() ? "/" : dir.getPath();
    try {
      return new URI(dir.getScheme(), null, dir.getHost(), dir.getPort(),
          path.endsWith("/") ? path + name : path + "/" + name, null, null);
    } catch (URISyntaxException e) {
      throw new SourceException("hdfs name '" + name + "' below " + dir + " makes no URL", 400);
    }
  }

  private HttpResponse<InputStream> send(URI target, URI url, Duration timeout) throws SourceException {
    HttpRequest request = HttpRequest.newBuilder(target).timeout(timeout).GET().build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (HttpTimeoutException e) {
      throw new SourceException("namenode " + authority(url) + " timed out", e);
    } catch (ConnectException e) {
      throw new SourceException("namenode " + authority(url) + " is unreachable: connection refused", e);
    } catch (IOException e) {
      throw new SourceException("WebHDFS request for " + url + " failed: " + oneLine(String.valueOf(e.getMessage())), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while reading " + url, e);
    }
  }

  /** A SourceException from a WebHDFS error answer: {@code {"RemoteException": {...}}}. */
  private static SourceException failure(HttpResponse<InputStream> response, URI url, String op) {
    String exception = "";
    String message = "";
    try (InputStream body = response.body()) {
      JsonNode remote = JSON.readTree(body.readNBytes(64 * 1024)).path("RemoteException");
      exception = remote.path("exception").asText("");
      message = oneLine(remote.path("message").asText(""));
    } catch (IOException e) {
      // not JSON: the status alone tells
    }
    int status = response.statusCode();
    String text;
    if (status == 404 || exception.equals("FileNotFoundException")) {
      text = "hdfs path " + url + " not found";
    } else if (status == 401) {
      text = "namenode " + authority(url) + " wants authentication that is not supported (Kerberos)";
    } else if (exception.equals("AccessControlException")) {
      text = "access to " + url + " denied" + (message.isEmpty() ? "" : ": " + message);
    } else {
      text = "WebHDFS " + op + " of " + url + " failed"
          + (exception.isEmpty() ? "" : ": " + exception + (message.isEmpty() ? "" : ": " + message));
    }
    return new SourceException(text + " (HTTP " + status + ")", status);
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s+", " ").trim();
  }

  /** The fields of a WebHDFS FileStatus object this client uses. */
  private record FileStatus(String name, String type, long length) {
    static FileStatus of(JsonNode node) {
      return new FileStatus(node.path("pathSuffix").asText(""), node.path("type").asText(""), node.path("length").asLong(-1));
    }

    boolean directory() {
      return type.equals("DIRECTORY");
    }

    boolean file() {
      return type.equals("FILE");
    }
  }
}
