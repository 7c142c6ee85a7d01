package io.dfly.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.Dfdaemon;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.SchedulerServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy and registry mirror of a real dfdaemon (in this JVM, with a real scheduler) in front
 * of a registry on the JDK's HTTP server.
 */
class ProxyServerTest {
  private static final String AUTH = "Bearer " + FakeRegistry.TOKEN;

  @TempDir
  static Path dir;

  static FakeRegistry registry;
  static FakeRegistry httpsRegistry;
  static SchedulerServer scheduler;
  static Dfdaemon daemon;
  static int proxyPort;
  static final HttpClient direct = HttpClient.newHttpClient();
  static HttpClient viaProxy;

  @BeforeAll
  static void start() throws Exception {
    registry = new FakeRegistry();
    Path originCa = dir.resolve("origin-ca.pem");
    httpsRegistry = new FakeRegistry(TestTls.serverFor127(originCa));
    SchedulerConfig schedulerConfig = new SchedulerConfig();
    schedulerConfig.listen = "127.0.0.1:" + freePort();
    scheduler = new SchedulerServer(schedulerConfig);
    DaemonConfig config = new DaemonConfig();
    config.scheduler = List.of(schedulerConfig.listen);
    config.dataDir = dir.resolve("daemon").toString();
    config.grpcPort = freePort();
    config.uploadPort = freePort();
    config.apiPort = freePort();
    config.proxy.port = proxyPort = freePort();
    config.proxy.registryMirror.url = registry.url();
    config.source.tls.caCerts = List.of(originCa.toString());
    config.proxy.httpsInterception.enabled = true;
    config.proxy.httpsInterception.hosts = List.of(java.util.regex.Pattern.quote(httpsRegistry.authority()));
    daemon = new Dfdaemon(config);
    viaProxy = HttpClient.newBuilder().proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort))).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
    if (scheduler != null) {
      scheduler.close();
    }
    registry.close();
    httpsRegistry.close();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static HttpResponse<byte[]> mirrorGet(String pathAndQuery, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + pathAndQuery));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return direct.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void mirrorPassesTheRegistrysTokenFlowThroughUnchanged() throws Exception {
    HttpResponse<byte[]> challenge = mirrorGet("/v2/?ns=" + registry.authority());
    assertThat(challenge.statusCode()).isEqualTo(401);
    assertThat(challenge.headers().firstValue("WWW-Authenticate")).hasValue(
        "Bearer realm=\"" + registry.url() + "/token\",service=\"fake\",scope=\"repository:lib/app:pull\"");

    assertThat(mirrorGet("/v2/?ns=" + registry.authority(), "Authorization", AUTH).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> manifest = mirrorGet("/v2/lib/app/manifests/v1?ns=" + registry.authority(),
        "Authorization", AUTH);
    assertThat(manifest.statusCode()).isEqualTo(200);
    assertThat(manifest.headers().firstValue("Content-Type")).hasValue("application/vnd.oci.image.manifest.v1+json");
    assertThat(registry.requests).as("ns is not passed to the registry").contains("GET /v2/lib/app/manifests/v1");
  }

  @Test
  void mirrorServesABlobThroughP2pOnceAndFromTheStoreAfter() throws Exception {
    byte[] blob = randomBytes(5 << 20, 1);
    String path = registry.addBlob("lib/app", blob);
    long servedBefore = registry.blobBytesServed.get();

    HttpResponse<byte[]> first = mirrorGet(path + "?ns=" + registry.authority(), "Authorization", AUTH);
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(blob);
    assertThat(first.headers().firstValue("Docker-Content-Digest")).hasValue("sha256:" + FakeRegistry.sha256(blob));
    assertThat(registry.blobAuthorizations).as("the client's token reached the registry").contains(AUTH);

    HttpResponse<byte[]> again = mirrorGet(path, "Authorization", AUTH);
    assertThat(again.body()).isEqualTo(blob);
    assertThat(registry.blobBytesServed.get() - servedBefore).as("registry bytes for two pulls (and a one-byte probe)")
        .isBetween((long) blob.length, blob.length + 1L);
  }

  @Test
  void mirrorServesRangesOfABlob() throws Exception {
    byte[] blob = randomBytes(3 << 20, 2);
    String path = registry.addBlob("lib/app", blob);

    HttpResponse<byte[]> middle = mirrorGet(path, "Authorization", AUTH, "Range", "bytes=1500000-2600000");
    assertThat(middle.statusCode()).isEqualTo(206);
    assertThat(middle.headers().firstValue("Content-Range")).hasValue("bytes 1500000-2600000/" + blob.length);
    assertThat(middle.body()).isEqualTo(Arrays.copyOfRange(blob, 1500000, 2600001));

    HttpResponse<byte[]> tail = mirrorGet(path, "Authorization", AUTH, "Range", "bytes=3000000-");
    assertThat(tail.statusCode()).isEqualTo(206);
    assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(blob, 3000000, blob.length));

    HttpResponse<byte[]> beyond = mirrorGet(path, "Authorization", AUTH, "Range", "bytes=" + blob.length + "-");
    assertThat(beyond.statusCode()).isEqualTo(416);
    assertThat(beyond.headers().firstValue("Content-Range")).hasValue("bytes */" + blob.length);
  }

  @Test
  void blobBytesReachTheClientBeforeTheBlobIsComplete() throws Exception {
    byte[] blob = randomBytes(6 << 20, 3);
    String path = registry.addBlob("lib/slow", blob);
    registry.holdBack(path);

    HttpResponse<InputStream> response = direct.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + proxyPort + path)).header("Authorization", AUTH).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      assertThat(response.statusCode()).isEqualTo(200);
      int firstPiece = FakeRegistry.firstPieceLength(blob.length);
      byte[] head = body.readNBytes(firstPiece);
      assertThat(registry.release.getCount()).as("the registry still holds back the rest").isEqualTo(1);
      assertThat(head).isEqualTo(Arrays.copyOf(blob, firstPiece));
      registry.release.countDown();
      assertThat(body.readAllBytes()).isEqualTo(Arrays.copyOfRange(blob, firstPiece, blob.length));
    }
  }

  @Test
  void aBlobThatDoesNotMatchItsDigestIsCutShortAndNotKept() throws Exception {
    byte[] named = randomBytes(2 << 20, 4);
    byte[] served = named.clone();
    served[served.length - 10] ^= 1;
    String path = registry.addWrongBlob("lib/app", served, named);

    for (int attempt = 1; attempt <= 2; attempt++) {
      long before = registry.blobBytesServed.get();
      assertThatThrownBy(() -> mirrorGet(path, "Authorization", AUTH))
          .as("attempt %d: the response must not complete", attempt).isInstanceOf(IOException.class);
      assertThat(registry.blobBytesServed.get() - before).as("attempt %d fetched the blob again", attempt)
          .isGreaterThanOrEqualTo(served.length);
    }
  }

  @Test
  void anEmptyBodyForABlobThatIsNotEmptyIsNoAnswer() throws Exception {
    String path = registry.addWrongBlob("lib/app", new byte[0], randomBytes(1000, 8));
    assertThatThrownBy(() -> mirrorGet(path, "Authorization", AUTH)).isInstanceOf(IOException.class);
  }

  @Test
  void aBlobTheRegistryRefusesGetsTheRegistrysAnswer() throws Exception {
    byte[] blob = randomBytes(1 << 20, 5);
    String path = registry.addBlob("lib/private", blob);
    HttpResponse<byte[]> unauthorized = mirrorGet(path);
    assertThat(unauthorized.statusCode()).isEqualTo(401);
    assertThat(unauthorized.headers().firstValue("WWW-Authenticate")).isPresent();

    HttpResponse<byte[]> missing = mirrorGet("/v2/lib/app/blobs/sha256:" + "0".repeat(64), "Authorization", AUTH);
    assertThat(missing.statusCode()).isEqualTo(404);
  }

  @Test
  void proxyRequestsForSignedBlobUrlsShareOneTask() throws Exception {
    byte[] blob = randomBytes(2 << 20, 6);
    String path = registry.addBlob("lib/signed", blob);
    long before = registry.blobBytesServed.get();
    for (String query : List.of("?Expires=1&Signature=abc", "?Expires=2&Signature=def")) {
      HttpResponse<byte[]> response = viaProxy.send(HttpRequest.newBuilder(URI.create(registry.url() + path + query))
          .header("Authorization", AUTH).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo(blob);
    }
    assertThat(registry.blobBytesServed.get() - before).as("registry bytes (and a one-byte probe)")
        .isBetween((long) blob.length, blob.length + 1L);
  }

  @Test
  void proxyPassesOtherRequestsStraightThrough() throws Exception {
    int requestsBefore = registry.requests.size();
    HttpResponse<String> file = viaProxy.send(HttpRequest.newBuilder(URI.create(registry.url() + "/files/a.txt?x=1"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(file.body()).isEqualTo("file /files/a.txt");
    assertThat(registry.requests.subList(requestsBefore, registry.requests.size())).containsExactly("GET /files/a.txt?x=1");

    HttpResponse<byte[]> health = mirrorGet("/healthy");
    assertThat(health.statusCode()).isEqualTo(200);

    HttpResponse<String> head = viaProxy.send(HttpRequest.newBuilder(URI.create(registry.url() + "/files/b.txt"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue("file /files/b.txt".length());
  }

  @Test
  void interceptedTunnelsServeHttpsBlobsThroughP2p() throws Exception {
    HttpClient client = HttpClient.newBuilder()
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxyPort)))
        .sslContext(TestTls.trusting(dir.resolve("daemon").resolve("proxy-ca").resolve("ca.crt")))
        .build();
    byte[] blob = randomBytes(3 << 20, 7);
    String path = httpsRegistry.addBlob("lib/secure", blob);
    for (int pull = 1; pull <= 2; pull++) {
      HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(URI.create(httpsRegistry.url() + path))
          .header("Authorization", AUTH).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo(blob);
    }
    assertThat(httpsRegistry.blobBytesServed.get()).as("https registry bytes for two pulls (and a one-byte probe)")
        .isBetween((long) blob.length, blob.length + 1L);
    HttpResponse<String> manifest = client.send(HttpRequest.newBuilder(URI.create(httpsRegistry.url()
        + "/v2/lib/secure/manifests/v1")).header("Authorization", AUTH).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(manifest.body()).isEqualTo("{\"schemaVersion\":2}");
  }

  @Test
  void connectTunnelsBytesBothWays() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", proxyPort)) {
      String reply = connect(socket, registry.authority(), null);
      assertThat(reply).startsWith("HTTP/1.1 200");
      socket.getOutputStream().write(("GET /files/tunnelled HTTP/1.1\r\nHost: " + registry.authority()
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 200").endsWith("file /files/tunnelled");
    }
  }

  @Test
  void aProxyWithCredentialsAndAllowedHostsIsNoOpenRelay() throws Exception {
    ProxyConfig config = new ProxyConfig();
    config.port = 0;
    config.rules = List.of();
    config.basicAuth = new ProxyConfig.BasicAuth();
    config.basicAuth.username = "puller";
    config.basicAuth.password = "s3cret";
    config.allowedHosts = List.of("127\\.0\\.0\\.1:" + registry.authority().split(":")[1]);
    try (ProxyServer guarded = ProxyServer.start(config, new io.dfly.source.SourceOptions.Tls(), null, dir.resolve("guarded"))) {
      String credentials = "Basic " + Base64.getEncoder().encodeToString("puller:s3cret".getBytes(StandardCharsets.UTF_8));
      try (Socket socket = new Socket("127.0.0.1", guarded.port())) {
        assertThat(connect(socket, registry.authority(), null)).startsWith("HTTP/1.1 407")
            .containsIgnoringCase("Proxy-Authenticate: Basic");
      }
      try (Socket socket = new Socket("127.0.0.1", guarded.port())) {
        assertThat(connect(socket, registry.authority(), "Basic cHVsbGVyOndyb25n")).startsWith("HTTP/1.1 407");
      }
      try (Socket socket = new Socket("127.0.0.1", guarded.port())) {
        assertThat(connect(socket, "127.0.0.1:" + proxyPort, credentials)).startsWith("HTTP/1.1 403");
      }
      try (Socket socket = new Socket("127.0.0.1", guarded.port())) {
        assertThat(connect(socket, registry.authority(), credentials)).startsWith("HTTP/1.1 200");
      }
      HttpResponse<String> plain = HttpClient.newBuilder()
          .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", guarded.port()))).build()
          .send(HttpRequest.newBuilder(URI.create(registry.url() + "/files/c")).header("Proxy-Authorization", credentials)
              .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(plain.body()).isEqualTo("file /files/c");
    }
  }

  @Test
  void aProxyOpenToOtherHostsWithoutCredentialsDoesNotStart() {
    ProxyConfig config = new ProxyConfig();
    config.listen = "0.0.0.0";
    config.port = 0;
    assertThatThrownBy(() -> ProxyServer.start(config, new io.dfly.source.SourceOptions.Tls(), null, dir.resolve("open")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("proxy.basic-auth");
  }

  /** Sends CONNECT and returns the proxy's answer up to the blank line. */
  private static String connect(Socket socket, String authority, String credentials) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n"
        + (credentials == null ? "" : "Proxy-Authorization: " + credentials + "\r\n") + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
