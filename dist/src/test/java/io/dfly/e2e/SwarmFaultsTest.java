package io.dfly.e2e;

import static io.dfly.e2e.DfgetRuns.awaitProgress;
import static io.dfly.e2e.DfgetRuns.dfget;
import static io.dfly.e2e.DfgetRuns.finish;
import static io.dfly.e2e.DfgetRuns.sha256;
import static io.dfly.e2e.DfgetRuns.startDfget;
import static io.dfly.e2e.SchedulerStats.awaitPeers;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.dfly.api.common.v1.Download;
import io.dfly.common.net.ByteRange;
import io.dfly.common.task.TaskId;
import io.dfly.e2e.DfgetRuns.Run;
import io.dfly.quickstart.LocalCluster;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Faults of the swarm around a download, with real processes: a parent that stalls, the
 * scheduler killed and restarted, a seed peer killed, origins that fail midway, and many hosts
 * starting one task at the same instant. Every case ends in a correct file or a clear error, and
 * an output path never holds a partial or wrong file.
 */
class SwarmFaultsTest extends OriginAndScheduler {
  private static final int SIZE = 24 << 20;

  static FaultyOrigin faulty;

  @BeforeAll
  static void startFaultyOrigin() throws Exception {
    faulty = new FaultyOrigin();
  }

  @AfterAll
  static void stopFaultyOrigin() throws Exception {
    if (faulty != null) {
      faulty.server.stop(0);
      faulty.raw.close();
    }
  }

  private static byte[] content(String name, int size) {
    byte[] bytes = new byte[size];
    new Random(name.hashCode()).nextBytes(bytes);
    return bytes;
  }

  private static String originFile(String name, int size) throws Exception {
    byte[] bytes = content(name, size);
    Files.write(originDir.resolve(name), bytes);
    return sha256(bytes);
  }

  private static Path config(String name, String yaml) throws IOException {
    return Files.writeString(work.resolve(name + ".yaml"), yaml);
  }

  private static void assertNothingAt(Path output) throws IOException {
    assertThat(output).doesNotExist();
    try (Stream<Path> files = Files.list(output.getParent())) {
      assertThat(files.filter(p -> p.getFileName().toString().contains("dfget-tmp")).toList()).isEmpty();
    }
  }

  @Test
  void aParentThatStallsLosesItsPiecesToTheOrigin() throws Exception {
    String sha = originFile("stall.bin", SIZE);
    String url = origin.url("stall.bin");
    Path fast = config("stall-child", "piece-timeout-seconds: 2\n");
    LocalCluster.Daemon parent = cluster.addDaemon("stall-parent");
    LocalCluster.Daemon child = cluster.addDaemon("stall-child", "--config", fast.toString());
    assertThat(dfget(parent, url, work.resolve("stall-parent.out")).exit()).isZero();

    Path out = work.resolve("stall-child.out");
    Process run = startDfget(child, url, out, "--limit", "6MiB", "--digest", "sha256:" + sha);
    awaitProgress(child, url, 0.2);
    cluster.pause(parent);
    try {
      Run result = finish(run, out);
      assertThat(result.exit()).as(result.stderr()).isZero();
      assertThat(sha256(out)).isEqualTo(sha);
      assertThat(LocalCluster.stat(child, url).fromOrigin()).isPositive();
    } finally {
      cluster.resume(parent);
    }
  }

  @Test
  void theSchedulerKilledMidDownloadAndRestarted() throws Exception {
    String sha = originFile("sched.bin", SIZE);
    String url = origin.url("sched.bin");
    Path announce = config("sched", "announce-interval-seconds: 1\n");
    LocalCluster.Daemon parent = cluster.addDaemon("sched-parent", "--config", announce.toString());
    LocalCluster.Daemon child = cluster.addDaemon("sched-child", "--config", announce.toString());
    assertThat(dfget(parent, url, work.resolve("sched-parent.out")).exit()).isZero();

    Path out = work.resolve("sched-child.out");
    Process run = startDfget(child, url, out, "--limit", "6MiB", "--digest", "sha256:" + sha);
    awaitProgress(child, url, 0.2);
    cluster.killScheduler();
    Run result = finish(run, out);
    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(sha256(out)).isEqualTo(sha);

    // A restarted scheduler learns the hosts, and what they hold, from their next announce.
    cluster.restartScheduler();
    awaitPeers(cluster.schedulerAddresses().get(0), TaskId.of(Download.newBuilder().setUrl(url).build()), 2);
    LocalCluster.Daemon late = cluster.addDaemon("sched-late", "--config", announce.toString());
    Path lateOut = work.resolve("sched-late.out");
    Run fromPeers = dfget(late, url, lateOut);
    assertThat(fromPeers.exit()).as(fromPeers.stderr()).isZero();
    assertThat(sha256(lateOut)).isEqualTo(sha);
    assertThat(LocalCluster.stat(late, url).fromOrigin())
        .as("the file the others hold comes from them, not the origin").isZero();

    String sha2 = originFile("sched2.bin", SIZE);
    String url2 = origin.url("sched2.bin");
    assertThat(dfget(parent, url2, work.resolve("sched2-parent.out")).exit()).isZero();
    Path out2 = work.resolve("sched2-child.out");
    Run after = dfget(child, url2, out2);
    assertThat(after.exit()).as(after.stderr()).isZero();
    assertThat(sha256(out2)).isEqualTo(sha2);
    assertThat(LocalCluster.stat(child, url2).fromPeers())
        .as("after the restart the child is given the parent again").isPositive();
  }

  @Test
  void aSeedPeerKilledMidFetchLeavesEveryPeerACorrectFile() throws Exception {
    String sha = originFile("seed.bin", SIZE);
    String url = origin.url("seed.bin");
    LocalCluster seeded = new LocalCluster(work.resolve("seeded")).startScheduler();
    try {
      LocalCluster.Daemon seed = seeded.addSeedPeer("seed", "--config",
          config("slow-seed", "download-rate: 6MiB\n").toString());
      List<LocalCluster.Daemon> peers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        peers.add(seeded.addDaemon("seeded-" + i));
      }
      List<Process> runs = new ArrayList<>();
      for (LocalCluster.Daemon peer : peers) {
        runs.add(startDfget(peer, url, work.resolve(peer.name() + ".out"), "--digest", "sha256:" + sha));
      }
      awaitProgress(seed, url, 0.25);
      seeded.kill(seed);
      for (int i = 0; i < peers.size(); i++) {
        Path out = work.resolve(peers.get(i).name() + ".out");
        Run result = finish(runs.get(i), out);
        assertThat(result.exit()).as(result.stderr()).isZero();
        assertThat(sha256(out)).isEqualTo(sha);
      }
    } finally {
      seeded.close();
    }
  }

  @Test
  void manyHostsStartingATaskAtOnceCostTheOriginOneCopy() throws Exception {
    String sha = originFile("crowd.bin", SIZE);
    String url = origin.url("crowd.bin");
    LocalCluster crowd = new LocalCluster(work.resolve("crowd")).startScheduler();
    try {
      crowd.addSeedPeer("crowd-seed");
      List<LocalCluster.Daemon> peers = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        peers.add(crowd.addDaemon("crowd-" + i));
      }
      long before = origin.bytesSent();
      List<Process> runs = new ArrayList<>();
      for (LocalCluster.Daemon peer : peers) {
        runs.add(startDfget(peer, url, work.resolve(peer.name() + ".out")));
      }
      for (int i = 0; i < peers.size(); i++) {
        Path out = work.resolve(peers.get(i).name() + ".out");
        Run result = finish(runs.get(i), out);
        assertThat(result.exit()).as(result.stderr()).isZero();
        assertThat(sha256(out)).isEqualTo(sha);
      }
      assertThat(origin.bytesSent() - before).as("origin bytes for 5 hosts and a seed peer")
          .isLessThanOrEqualTo((long) (SIZE * 1.05));
    } finally {
      crowd.close();
    }
  }

  @Test
  void originsThatFailOnceAreRetriedAndOnesThatKeepFailingEndInAClearError() throws Exception {
    LocalCluster.Daemon daemon = cluster.addDaemon("faulty");
    for (String mode : new String[] {"reset-once", "500-once"}) {
      Path out = work.resolve("faulty-" + mode + ".out");
      Run result = dfget(daemon, faulty.url(mode), out, "--digest", "sha256:" + sha256(faulty.content));
      assertThat(result.exit()).as(mode + ": " + result.stderr()).isZero();
      assertThat(sha256(out)).as(mode).isEqualTo(sha256(faulty.content));
      assertThat(faulty.faults.get(mode).get()).as("faults injected for " + mode).isPositive();
    }
    String[][] failing = {
        {"500-midway", "HTTP 500"},
        {"short-body", "connection closed with"},
        {"long-length", "connection closed with 4096 body bytes still due"},
    };
    for (String[] expected : failing) {
      Path dir = Files.createDirectories(work.resolve("faulty-" + expected[0]));
      Path out = dir.resolve("file.bin");
      Run result = dfget(daemon, faulty.url(expected[0]), out);
      assertThat(result.exit()).as(expected[0]).isEqualTo(1);
      assertThat(result.stderr().strip()).as(expected[0]).startsWith("dfget: ").contains(expected[1]).doesNotContain("\n");
      assertNothingAt(out);
    }
  }

  /**
   * An HTTP origin that misbehaves on purpose, by path: {@code reset-once} cuts the first ranged
   * response past the middle after half its bytes, {@code 500-once} answers the first request
   * past the middle with 500, {@code 500-midway} always does. {@code short-body} (half of the
   * announced length) and {@code long-length} (4 KiB announced that never come) ignore ranges and
   * close the connection early; they are served from a plain socket, since the JDK's server keeps
   * a connection open when a handler writes too little.
   */
  static final class FaultyOrigin {
    final byte[] content = content("faulty", 12 << 20);
    final HttpServer server;
    final java.net.ServerSocket raw;
    final ConcurrentHashMap<String, AtomicInteger> faults = new ConcurrentHashMap<>();

    FaultyOrigin() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
      server.createContext("/", this::handle);
      server.start();
      raw = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      Thread.ofVirtual().start(this::serveRaw);
    }

    String url(String mode) {
      int port = mode.equals("short-body") || mode.equals("long-length") ? raw.getLocalPort()
          : server.getAddress().getPort();
      return "http://127.0.0.1:" + port + "/" + mode + "/file.bin";
    }

    private boolean once(String mode) {
      return faults.computeIfAbsent(mode, m -> new AtomicInteger()).getAndIncrement() == 0;
    }

    private void serveRaw() {
      while (!raw.isClosed()) {
        try (java.net.Socket socket = raw.accept()) {
          java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream()));
          String mode = in.readLine().split(" ")[1].split("/")[1];
          while (!in.readLine().isEmpty()) {
            // headers are ignored: this origin serves no ranges
          }
          boolean shortBody = mode.equals("short-body");
          int announced = shortBody ? content.length : content.length + 4096;
          int sent = shortBody ? content.length / 2 : content.length;
          OutputStream out = socket.getOutputStream();
          out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + announced + "\r\n\r\n").getBytes());
          out.write(content, 0, sent);
          out.flush();
          faults.computeIfAbsent(mode, m -> new AtomicInteger()).incrementAndGet();
        } catch (IOException | RuntimeException e) {
          // a client that went away, or the socket closed at the end of the tests
        }
      }
    }

    private void handle(HttpExchange exchange) throws IOException {
      String mode = exchange.getRequestURI().getPath().split("/")[1];
      faults.computeIfAbsent(mode, m -> new AtomicInteger());
      String rangeHeader = exchange.getRequestHeaders().getFirst("Range");
      try (OutputStream out = exchange.getResponseBody()) {
        ByteRange range = rangeHeader == null ? new ByteRange(0, content.length - 1)
            : ByteRange.parse(rangeHeader, content.length);
        boolean pastMiddle = range.last() >= content.length / 2 && range.length() > 1;
        if (pastMiddle && (mode.equals("500-midway") || (mode.equals("500-once") && once(mode)))) {
          exchange.sendResponseHeaders(500, -1);
          return;
        }
        exchange.getResponseHeaders().set("Content-Range", range.contentRange(content.length));
        exchange.sendResponseHeaders(rangeHeader == null ? 200 : 206, range.length());
        int length = (int) range.length();
        if (pastMiddle && mode.equals("reset-once") && once(mode)) {
          length /= 2; // the server then drops the connection: the body ends short
        }
        out.write(content, (int) range.first(), length);
      } catch (IOException e) {
        // the client gave up on a cut response
      }
    }
  }
}
