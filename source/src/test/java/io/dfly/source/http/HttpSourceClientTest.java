package io.dfly.source.http;

import static io.dfly.source.SourceTesting.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpSourceClientTest {
  private static final byte[] CONTENT = new byte[300_000];

  static {
    new Random(7).nextBytes(CONTENT);
  }

  private HttpServer server;
  private String base;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/fixed", ex -> serve(ex, false));
    server.createContext("/chunked", ex -> serve(ex, true));
    server.createContext("/redirect", ex -> {
      ex.getResponseHeaders().set("Location", "/fixed");
      ex.sendResponseHeaders(302, -1);
      ex.close();
    });
    server.createContext("/stall", ex -> {
      ex.sendResponseHeaders(200, CONTENT.length);
      ex.getResponseBody().write(CONTENT, 0, 1000);
      ex.getResponseBody().flush();
      sleep(5000);
      ex.close();
    });
    server.createContext("/", ex -> {
      ex.sendResponseHeaders(404, -1);
      ex.close();
    });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private void serve(HttpExchange ex, boolean chunked) throws IOException {
    String range = ex.getRequestHeaders().getFirst("Range");
    byte[] body = CONTENT;
    int status = 200;
    if (range != null) {
      ByteRange r = ByteRange.parse(range, CONTENT.length);
      body = java.util.Arrays.copyOfRange(CONTENT, (int) r.first(), (int) r.last() + 1);
      ex.getResponseHeaders().set("Content-Range", r.contentRange(CONTENT.length));
      status = 206;
    }
    ex.sendResponseHeaders(status, chunked ? 0 : body.length);
    try (OutputStream out = ex.getResponseBody()) {
      for (int i = 0; i < body.length; i += 7000) { // many small chunks when chunked
        out.write(body, i, Math.min(7000, body.length - i));
        out.flush();
      }
    }
  }

  private static SourceRequest request(String url) {
    return SourceRequest.whole(URI.create(url), Map.of());
  }

  @Test
  void readsWholeBodiesWithLengthOrChunkedAndFollowsRedirects() throws IOException {
    HttpSourceClient client = new HttpSourceClient();
    for (String path : new String[] {"/fixed", "/chunked", "/redirect"}) {
      try (SourceResponse response = client.open(request(base + path))) {
        assertThat(response.ranged()).isFalse();
        assertThat(readAll(response.body())).as(path).isEqualTo(CONTENT);
      }
    }
  }

  @Test
  void readsRangesWithTheTotalLength() throws IOException {
    HttpSourceClient client = new HttpSourceClient();
    for (String path : new String[] {"/fixed", "/chunked"}) {
      try (SourceResponse response = client.open(request(base + path).withRange(new ByteRange(1000, 250_999)))) {
        assertThat(response.ranged()).isTrue();
        assertThat(response.totalLength()).isEqualTo(CONTENT.length);
        assertThat(readAll(response.body())).isEqualTo(java.util.Arrays.copyOfRange(CONTENT, 1000, 251_000));
      }
    }
  }

  @Test
  void reusesAConnectionOnlyAfterItsBodyWasReadToTheEnd() throws IOException {
    try (BulkHttpClient client = new BulkHttpClient(Duration.ofSeconds(2), Duration.ofSeconds(5))) {
      URI fixed = URI.create(base + "/fixed");
      BulkHttpClient.Response first = client.get(fixed, Map.of("Range", "bytes=0-9"));
      assertThat(readAll(first)).hasSize(10);
      first.close();
      BulkHttpClient.Response partial = client.get(fixed, Map.of());
      ByteBuffer some = ByteBuffer.allocate(100);
      partial.read(some);
      partial.close(); // unread body: the connection must not be reused
      BulkHttpClient.Response third = client.get(fixed, Map.of("Range", "bytes=10-19"));
      assertThat(third.status()).isEqualTo(206);
      assertThat(readAll(third)).isEqualTo(java.util.Arrays.copyOfRange(CONTENT, 10, 20));
      third.close();
    }
  }

  @Test
  void aStalledBodyFailsAfterTheReadTimeout() throws IOException {
    try (BulkHttpClient client = new BulkHttpClient(Duration.ofSeconds(2), Duration.ofMillis(600))) {
      BulkHttpClient.Response response = client.get(URI.create(base + "/stall"), Map.of());
      assertThatThrownBy(() -> readAll(response)).isInstanceOf(java.net.SocketTimeoutException.class)
          .hasMessageContaining("no data");
      response.close();
    }
  }

  @Test
  void errorsSayWhatHappened() {
    HttpSourceClient client = new HttpSourceClient();
    assertThatThrownBy(() -> client.open(request(base + "/missing")))
        .isInstanceOf(SourceException.class)
        .hasMessage("origin returned HTTP 404 for " + base + "/missing")
        .satisfies(e -> assertThat(((SourceException) e).statusCode()).isEqualTo(404));
    assertThatThrownBy(() -> client.open(request("http://127.0.0.1:1/x")))
        .isInstanceOf(SourceException.class)
        .hasMessageContaining("unreachable");
  }

  @Test
  void httpsTrustsGivenCasOnly(@TempDir Path dir) throws Exception {
    Path keystore = dir.resolve("origin.p12");
    Path cert = dir.resolve("origin.pem");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(keytool, "-genkeypair", "-alias", "origin", "-keyalg", "EC", "-dname", "CN=127.0.0.1",
        "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", keystore.toString(),
        "-storetype", "PKCS12", "-storepass", "secret");
    run(keytool, "-exportcert", "-rfc", "-alias", "origin", "-keystore", keystore.toString(),
        "-storepass", "secret", "-file", cert.toString());

    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(keystore.toFile())) {
      keys.load(in, "secret".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, "secret".toCharArray());
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);
    HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    https.setHttpsConfigurator(new HttpsConfigurator(serverContext));
    https.createContext("/fixed", ex -> serve(ex, false));
    https.start();
    try {
      String url = "https://127.0.0.1:" + https.getAddress().getPort() + "/fixed";
      assertThatThrownBy(() -> new HttpSourceClient().open(request(url)))
          .isInstanceOf(SourceException.class)
          .hasMessageContaining("TLS to https://127.0.0.1");

      SourceOptions options = new SourceOptions();
      options.tls.caCerts.add(cert.toString());
      HttpSourceClient trusting = new HttpSourceClient();
      trusting.configure(options);
      try (SourceResponse response = trusting.open(request(url))) {
        assertThat(readAll(response.body())).isEqualTo(CONTENT);
      }
    } finally {
      https.stop(0);
    }
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor()).as(output).isZero();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
