package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.dfly.quickstart.LocalCluster;
import io.dfly.quickstart.OriginServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole download path with real processes: a scheduler, a seed peer and three dfdaemons,
 * each its own JVM, and dfget run as its own process against them.
 */
class P2pDownloadTest {
  private static final int SIZE = 48 << 20;

  @TempDir
  static Path work;

  static LocalCluster cluster;
  static OriginServer origin;
  static Path originDir;
  static byte[] content;
  static String sha256;

  @BeforeAll
  static void startCluster() throws Exception {
    originDir = Files.createDirectories(work.resolve("origin"));
    content = new byte[SIZE];
    new Random(42).nextBytes(content);
    Files.write(originDir.resolve("blob.bin"), content);
    sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    origin = new OriginServer(originDir);
    cluster = new LocalCluster(work.resolve("cluster")).start(3);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (origin != null) {
      origin.close();
    }
  }

  record Run(int exit, List<String> stderr) {}

  /**
   * dfget as users run it: the distribution's launcher, with its own short class path and AOT
   * start-up cache, so a jar that dfget needs and the launcher leaves out fails here.
   */
  private static Run dfget(String daemon, String url, Path output, String... extra) throws Exception {
    Path launcher = Path.of(System.getProperty("dfly.dist", "target/dragonfly"), "bin", "dfget");
    assertThat(launcher).as("the distribution is assembled before the end-to-end tests").isExecutable();
    List<String> command = new ArrayList<>(List.of(launcher.toString(), url, "-O", output.toString(),
        "--daemon", daemon, "--no-progress"));
    command.addAll(List.of(extra));
    Path err = Files.createTempFile(work, "dfget", ".err");
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(err.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().put("XDG_CACHE_HOME", work.resolve("cache").toString());
    Process process = builder.start();
    assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("dfget finished").isTrue();
    return new Run(process.exitValue(), Files.readAllLines(err));
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static List<Path> filesIn(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.toList();
    }
  }

  @Test
  void peersFetchFromEachOtherAndTheOriginServesAboutOneCopy() throws Exception {
    String url = origin.url("blob.bin");
    long originBefore = origin.bytesSent();
    List<LocalCluster.Daemon> peers = cluster.peers();
    List<Process> runs = new ArrayList<>();
    for (LocalCluster.Daemon peer : peers) {
      runs.add(cluster.dfget(peer, url, work.resolve(peer.name() + ".out"), "--digest", "sha256:" + sha256));
    }
    for (Process run : runs) {
      assertThat(run.waitFor(3, TimeUnit.MINUTES)).isTrue();
      assertThat(run.exitValue()).isZero();
    }
    long fromPeers = 0;
    for (LocalCluster.Daemon peer : peers) {
      assertThat(sha256(work.resolve(peer.name() + ".out"))).isEqualTo(sha256);
      LocalCluster.TaskStat traffic = LocalCluster.stat(peer, url);
      assertThat(traffic.fromOrigin() + traffic.fromSeedPeers() + traffic.fromPeers()).isEqualTo(SIZE);
      fromPeers += traffic.fromPeers();
    }
    assertThat(fromPeers).as("bytes peers received from other (non-seed) peers").isPositive();
    assertThat(LocalCluster.stat(cluster.seed(), url).fromOrigin()).isEqualTo(SIZE);
    assertThat(origin.bytesSent() - originBefore).as("bytes the origin served").isLessThanOrEqualTo((long) (SIZE * 1.05));

    // Fetched again on a host that has it: a cache hit, no origin traffic.
    long originAfter = origin.bytesSent();
    Path again = work.resolve("again.out");
    assertThat(dfget(peers.get(0).api(), url, again).exit()).isZero();
    assertThat(sha256(again)).isEqualTo(sha256);
    assertThat(origin.bytesSent()).isEqualTo(originAfter);
  }

  @Test
  void originErrorsBadUrlsAndWrongDigestsFailCleanly() throws Exception {
    HttpServer failing = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    failing.createContext("/", exchange -> {
      exchange.sendResponseHeaders(500, -1);
      exchange.close();
    });
    failing.start();
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    try {
      String daemon = cluster.peers().get(1).api();
      expectFailure(daemon, "http://127.0.0.1:" + closedPort + "/blob.bin", "unreachable");
      expectFailure(daemon, origin.url("missing.bin"), "HTTP 404");
      expectFailure(daemon, "http://127.0.0.1:" + failing.getAddress().getPort() + "/x.bin", "HTTP 500");
      expectFailure(daemon, "ftp://127.0.0.1/blob.bin", "unsupported URL scheme 'ftp'");
      expectFailure(daemon, "not a url", "URL");
      expectFailure(daemon, origin.url("blob.bin"), "digest mismatch", "--digest", "sha256:" + "0".repeat(64));
    } finally {
      failing.stop(0);
    }
  }

  private static void expectFailure(String daemon, String url, String reason, String... extra) throws Exception {
    Path dir = Files.createTempDirectory(work, "out");
    Run run = dfget(daemon, url, dir.resolve("file.bin"), extra);
    assertThat(run.exit()).as("exit code for %s", url).isNotZero();
    assertThat(run.stderr()).as("stderr for %s", url).hasSize(1);
    assertThat(run.stderr().get(0)).startsWith("dfget: ").contains(reason);
    assertThat(filesIn(dir)).as("files left for %s", url).isEmpty();
  }

  @Test
  void withoutADaemonDfgetFetchesFromTheOriginItself() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Path out = work.resolve("alone.out");
    Run run = dfget("127.0.0.1:" + closedPort, origin.url("blob.bin"), out, "--digest", "sha256:" + sha256);
    assertThat(run.exit()).isZero();
    assertThat(run.stderr()).singleElement().asString().contains("no dfdaemon");
    assertThat(sha256(out)).isEqualTo(sha256);

    Path dir = Files.createTempDirectory(work, "alone");
    Run wrong = dfget("127.0.0.1:" + closedPort, origin.url("blob.bin"), dir.resolve("f"), "--digest", "md5:" + "0".repeat(32));
    assertThat(wrong.exit()).isNotZero();
    assertThat(filesIn(dir)).isEmpty();
  }
}
