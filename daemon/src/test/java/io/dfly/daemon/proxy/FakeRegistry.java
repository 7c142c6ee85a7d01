package io.dfly.daemon.proxy;

import com.sun.net.httpserver.HttpExchange;
import io.dfly.common.piece.PieceMath;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A registry enough for the proxy's tests, on the JDK's HTTP server: bearer-token auth on
 * /v2/, blobs with Range support, a blob whose bytes do not match its digest, a blob that
 * holds back everything after its first piece until released, and plain files.
 */
final class FakeRegistry implements AutoCloseable {
  static final String TOKEN = "good-token";

  private final HttpServer server;
  private final String scheme;
  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  final AtomicLong blobBytesServed = new AtomicLong();
  final List<String> blobAuthorizations = new CopyOnWriteArrayList<>();
  final List<String> requests = new CopyOnWriteArrayList<>();
  final CountDownLatch release = new CountDownLatch(1);
  private volatile String heldBackPath = "";

  FakeRegistry() throws IOException {
    this(null);
  }

  /** With {@code tls}, an https registry. */
  FakeRegistry(SSLContext tls) throws IOException {
    if (tls == null) {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    } else {
      HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
      https.setHttpsConfigurator(new HttpsConfigurator(tls));
      server = https;
    }
    scheme = tls == null ? "http" : "https";
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", this::handle);
    server.start();
  }

  String authority() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  String url() {
    return scheme + "://" + authority();
  }

  /** Adds a blob under its true digest and returns the blob path. */
  String addBlob(String repository, byte[] content) {
    String path = "/v2/" + repository + "/blobs/sha256:" + sha256(content);
    blobs.put(path, content);
    return path;
  }

  /** Adds content under the digest of other bytes: a registry (or cache) serving a wrong blob. */
  String addWrongBlob(String repository, byte[] content, byte[] named) {
    String path = "/v2/" + repository + "/blobs/sha256:" + sha256(named);
    blobs.put(path, content);
    return path;
  }

  /** Ranges of this blob past its first piece wait for {@link #release}. */
  void holdBack(String path) {
    heldBackPath = path;
  }

  /** The length of a task's first piece, as every peer cuts it. */
  static int firstPieceLength(long contentLength) {
    return (int) PieceMath.pieceLength(contentLength);
  }

  static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
      if (path.equals("/token")) {
        send(exchange, 200, "{\"token\":\"" + TOKEN + "\"}");
        return;
      }
      if (path.startsWith("/files/")) {
        send(exchange, 200, "file " + path);
        return;
      }
      if (!path.startsWith("/v2")) {
        send(exchange, 404, "not found");
        return;
      }
      if (!("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
        exchange.getResponseHeaders().add("WWW-Authenticate",
            "Bearer realm=\"" + url() + "/token\",service=\"fake\",scope=\"repository:lib/app:pull\"");
        send(exchange, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
        return;
      }
      if (path.equals("/v2/") || path.equals("/v2")) {
        send(exchange, 200, "{}");
        return;
      }
      if (path.contains("/manifests/")) {
        exchange.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        send(exchange, 200, "{\"schemaVersion\":2}");
        return;
      }
      byte[] blob = blobs.get(path);
      if (blob == null) {
        send(exchange, 404, "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}");
        return;
      }
      blobAuthorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
      serveBlob(exchange, path, blob);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void serveBlob(HttpExchange exchange, String path, byte[] blob) throws IOException, InterruptedException {
    String range = exchange.getRequestHeaders().getFirst("Range");
    long first = 0;
    long last = blob.length - 1;
    int status = 200;
    if (range != null) {
      String[] bounds = range.substring("bytes=".length()).split("-", -1);
      first = Long.parseLong(bounds[0]);
      if (first >= blob.length) {
        exchange.getResponseHeaders().add("Content-Range", "bytes */" + blob.length);
        exchange.sendResponseHeaders(416, -1);
        return;
      }
      last = bounds[1].isEmpty() ? blob.length - 1 : Math.min(Long.parseLong(bounds[1]), blob.length - 1);
      status = 206;
      exchange.getResponseHeaders().add("Content-Range", "bytes " + first + "-" + last + "/" + blob.length);
    }
    if (path.equals(heldBackPath) && last >= firstPieceLength(blob.length)) {
      release.await();
    }
    int length = (int) (last - first + 1);
    exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
    exchange.sendResponseHeaders(status, length == 0 ? -1 : length);
    // Counted before they go out: a client can have every byte (and a test read the count)
    // before this thread gets back from the write.
    blobBytesServed.addAndGet(length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(blob, (int) first, length);
    }
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.getResponseHeaders().add("Content-Length", Integer.toString(bytes.length));
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  @Override
  public void close() {
    release.countDown();
    server.stop(0);
  }
}
