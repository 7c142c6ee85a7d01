package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.common.task.TaskId;
import io.dfly.quickstart.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts that go silent mid-download, on a netlab (network namespaces joined by shaped links):
 * on loopback a killed process answers with a reset at once, but a host that dies or loses its
 * link answers nothing, so its connections hang and connects to it time out. Here a host is cut
 * off at its switch port (the bridge's end of its link is set down): nothing it sends leaves,
 * nothing sent to it arrives, and no reset comes back, which each test checks before it relies
 * on it. Every process runs on its own host, as on real machines:
 *
 * <pre>
 *   h0 origin   h1 scheduler   h2 seed peer   h3 dfdaemon (a parent)   h4..h6 dfdaemons (children)
 * </pre>
 *
 * <p>What this cannot cover: latency and loss short of a full black hole (this kernel has no
 * netem), a host that comes back with its processes restarted, and a silence longer than TCP's
 * own retransmission limits (minutes) after which the kernel resets the connection itself.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetlabFaultsTest {
  private static final String PREFIX = "dfnf";
  private static final int RATE_MBIT = 100;
  private static final int SIZE = 48 << 20;
  private static final int ORIGIN = 0;
  private static final int SCHEDULER = 1;
  private static final int SEED = 2;
  private static final int PARENT = 3;
  private static final int[] CHILDREN = {4, 5, 6};
  private static final int HOSTS = 7;
  /** piece-timeout-seconds in every dfdaemon's config: a piece transfer with no byte this long goes elsewhere. */
  private static final int PIECE_TIMEOUT_SECONDS = 3;
  /** The connect timeout of piece reads (TaskManager's BulkHttpClient), fixed in the code. */
  private static final int CONNECT_TIMEOUT_SECONDS = 5;
  /** The dfdaemon's stall-timeout-seconds default: a task with no event this long goes to the origin. */
  private static final int STALL_TIMEOUT_SECONDS = 60;
  /** The scheduler's back-to-source-after-rounds default times its reschedule interval (1 s), seconds. */
  private static final int BACK_TO_SOURCE_ROUNDS = 10;
  /** stall-timeout-seconds on the parent's host, which starts a download while the scheduler is silent. */
  private static final int LATE_STALL_TIMEOUT_SECONDS = 10;

  @TempDir
  static Path work;

  static Netlab lab;
  static Path originDir;
  static final List<Process> processes = new ArrayList<>();
  /** Hosts cut off by a test and not yet reconnected; @AfterAll reconnects them before stopping processes. */
  static final List<Integer> cut = new ArrayList<>();

  @BeforeAll
  static void labUp() throws Exception {
    lab = Netlab.up(PREFIX, HOSTS, RATE_MBIT, work);

    originDir = Files.createDirectories(work.resolve("origin"));
    Path first = originDir.resolve("index.txt");
    Files.writeString(first, "netlab faults\n");
    Process origin = start(ORIGIN, "origin", "io.dfly.quickstart.DragonflyMain", "origin", "--file", first.toString(),
        "--listen", addr(ORIGIN), "--port", "8080");
    // Off loopback every part needs the cluster's shared secret.
    Path token = Files.writeString(work.resolve("cluster-token"), java.util.UUID.randomUUID().toString());
    Process scheduler = start(SCHEDULER, "scheduler", "io.dfly.scheduler.SchedulerMain", "--listen",
        addr(SCHEDULER) + ":8002", "--cluster-token-file", token.toString());
    OciRegistry.awaitPort(in(ORIGIN), addr(ORIGIN), 8080, origin);
    OciRegistry.awaitPort(in(SCHEDULER), addr(SCHEDULER), 8002, scheduler);
    Path config = Files.writeString(work.resolve("dfdaemon.yaml"), "piece-timeout-seconds: " + PIECE_TIMEOUT_SECONDS
        + "\n");
    Path parentConfig = Files.writeString(work.resolve("dfdaemon-parent.yaml"), "piece-timeout-seconds: "
        + PIECE_TIMEOUT_SECONDS + "\nstall-timeout-seconds: " + LATE_STALL_TIMEOUT_SECONDS + "\n");
    Map<Integer, Process> daemons = new java.util.LinkedHashMap<>();
    for (int h = SEED; h < HOSTS; h++) {
      List<String> args = new ArrayList<>(List.of("--scheduler", addr(SCHEDULER) + ":8002", "--data-dir",
          work.resolve("data-h" + h).toString(), "--listen", addr(h), "--cluster-token-file", token.toString(),
          "--config", (h == PARENT ? parentConfig : config).toString(), "--no-proxy"));
      if (h == SEED) {
        args.add("--seed-peer");
      }
      daemons.put(h, start(h, "dfdaemon-h" + h, "io.dfly.daemon.DfdaemonMain", args.toArray(String[]::new)));
    }
    for (Map.Entry<Integer, Process> daemon : daemons.entrySet()) {
      int h = daemon.getKey();
      OciRegistry.awaitPort(in(h), addr(h), 65000, daemon.getValue());
      OciRegistry.awaitPort(in(h), "127.0.0.1", 65003, daemon.getValue()); // the local API: once announced
    }
  }

  @AfterAll
  static void labDown() throws Exception {
    try {
      for (int h : List.copyOf(cut)) {
        reconnect(h);
      }
      for (Process process : processes.reversed()) {
        process.destroy();
      }
      for (Process process : processes) {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } finally {
      if (lab != null) {
        lab.down();
      }
    }
  }

  // ---- the lab ---------------------------------------------------------------------------

  /** Runs a command to its end; its output, or an exception when it fails. */
  private static String run(String... command) throws IOException, InterruptedException {
    return OciRegistry.run(work, command);
  }

  private static List<String> in(int h) {
    return lab.in(h);
  }

  private static String addr(int h) {
    return Netlab.addr(h);
  }

  private static Process start(int h, String name, String mainClass, String... args) throws IOException {
    Process process = lab.start(h, name, "-Xmx192m", mainClass, args);
    processes.add(process);
    return process;
  }

  /** Bytes host {@code h}'s link has sent ({@code [0]}) and received ({@code [1]}). */
  private static long[] traffic(int h) throws IOException, InterruptedException {
    return lab.traffic(h);
  }

  /**
   * Cuts host {@code h} off at the switch: the bridge's end of its link (netlab's {@code nlp<h>}
   * in the {@code <prefix>-sw} namespace) goes down, as a pulled cable or a dead host, so the host
   * sends and receives nothing, and no reset comes from it or for it.
   */
  private static void cutOff(int h) throws IOException, InterruptedException {
    run("ip", "netns", "exec", lab.switchNamespace(), "ip", "link", "set", "nlp" + h, "down");
    cut.add(h);
  }

  private static void reconnect(int h) throws IOException, InterruptedException {
    run("ip", "netns", "exec", lab.switchNamespace(), "ip", "link", "set", "nlp" + h, "up");
    cut.remove(Integer.valueOf(h));
  }

  /**
   * How a TCP connect from host {@code from} to {@code ip:port} ends within 2 s: "connected",
   * "refused" (a reset came back) or "silent" (no answer at all).
   */
  private static Process connectProbe(int from, String ip, int port) throws IOException {
    List<String> command = new ArrayList<>(in(from));
    command.addAll(List.of("timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/" + port));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  private static String outcome(Process probe) throws InterruptedException {
    assertThat(probe.waitFor(10, TimeUnit.SECONDS)).as("connect probe ended").isTrue();
    return switch (probe.exitValue()) {
      case 0 -> "connected";
      case 124 -> "silent";
      default -> "refused";
    };
  }

  /** Host {@code h}'s port {@code port}, and a port nothing listens on, as seen from host {@code from}. */
  private static List<String> reachability(int from, int h, int port) throws InterruptedException, IOException {
    Process open = connectProbe(from, addr(h), port);
    Process closed = connectProbe(from, addr(h), 9);
    return List.of(outcome(open), outcome(closed));
  }

  // ---- downloads -------------------------------------------------------------------------

  /** A new file at the origin; returns its sha256. */
  private static String originFile(String name) throws Exception {
    byte[] content = new byte[SIZE];
    new Random(name.hashCode()).nextBytes(content);
    Files.write(originDir.resolve(name), content);
    return DfgetRuns.sha256(content);
  }

  private static String url(String name) {
    return "http://" + addr(ORIGIN) + ":8080/" + name;
  }

  /** dfget inside host {@code h} against its dfdaemon; stderr next to the output, as {@code <output>.err}. */
  private static Process dfget(int h, String url, Path output, String... extra) throws IOException {
    List<String> command = new ArrayList<>(in(h));
    command.addAll(LocalCluster.javaCommand("io.dfly.dfget.DfgetMain", "-Xmx96m", "-XX:TieredStopAtLevel=1"));
    command.addAll(List.of(url, "-O", output.toString(), "--no-progress"));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(output.resolveSibling(output.getFileName() + ".err").toFile()).start();
  }

  /**
   * Watches output paths while downloads run: whenever one exists it must hold the whole file
   * (dfget renames a verified file into place). Records every sighting of anything else.
   */
  static final class OutputWatch implements AutoCloseable {
    final Map<Path, String> violations = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stop;

    OutputWatch(List<Path> outputs) {
      thread = Thread.ofPlatform().daemon().start(() -> {
        while (!stop) {
          for (Path out : outputs) {
            try {
              if (Files.exists(out) && Files.size(out) != SIZE) {
                violations.putIfAbsent(out, Files.size(out) + " bytes");
              }
            } catch (IOException gone) {
              // renamed or removed between the two calls
            }
          }
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join();
    }
  }

  private static long sumReceived(int... hosts) throws IOException, InterruptedException {
    long sum = 0;
    for (int h : hosts) {
      sum += traffic(h)[1];
    }
    return sum;
  }

  private static void assertNoLeftovers(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.filter(p -> p.getFileName().toString().contains("dfget-tmp")).toList())
          .as("dfget's temporary files in %s", dir).isEmpty();
    }
  }

  /** Seconds it takes to move the whole file over one link at the lab's rate. */
  private static double copySeconds() {
    return SIZE * 8.0 / (RATE_MBIT * 1e6);
  }

  // ---- the faults ------------------------------------------------------------------------

  /**
   * A parent host goes silent while three children fetch from it (and from the seed peer and
   * each other): their pieces in flight from it stall, and connects to it time out. Each child
   * must let the parent go after the piece timeout and finish elsewhere with a correct file.
   */
  @Test
  @Order(1)
  void aParentHostThatGoesSilentMidTransferIsLeftAfterThePieceTimeout() throws Exception {
    String sha = originFile("parent-cut.bin");
    String url = url("parent-cut.bin");
    Path parentOut = work.resolve("parent-cut-h" + PARENT + ".out");
    Process parent = dfget(PARENT, url, parentOut, "--digest", "sha256:" + sha);
    assertThat(parent.waitFor(2, TimeUnit.MINUTES)).as("the parent's own dfget finished").isTrue();
    assertThat(parent.exitValue()).as(Files.readString(parentOut.resolveSibling(parentOut.getFileName() + ".err")))
        .isZero();

    // A child's pieces in flight from the parent stall for the piece timeout (a new connect to it
    // for the connect timeout) before they go elsewhere; the rest of the file then takes at most
    // the time to move it over one link a few times over (the other parents share their uplinks
    // among three children).
    double bound = PIECE_TIMEOUT_SECONDS + CONNECT_TIMEOUT_SECONDS + 3 * copySeconds() + 10;
    long parentSentBefore = traffic(PARENT)[0];
    // Mid-transfer: the parent has sent a quarter of the file to the children.
    double took = cutMidDownload("parent-cut", sha, PARENT, 65002,
        () -> traffic(PARENT)[0] - parentSentBefore >= SIZE / 4, bound, false);
    System.out.printf("parent cut off: the children were done %.1f s after the cut (bound %.1f s)%n", took, bound);
    assertThat(childLogs()).as("a child's piece from the silent parent stalled, and the child let it go")
        .contains("(" + addr(PARENT) + ") let go: it stalled");
  }

  /**
   * The seed peer's host goes silent while it is still fetching the task from the origin and
   * three children fetch from it: nobody holds the pieces it had not passed on, so once the
   * children have let it go the scheduler must send them to the origin for those.
   */
  @Test
  @Order(2)
  void aSeedPeerHostThatGoesSilentMidFetchSendsTheChildrenToTheOrigin() throws Exception {
    String sha = originFile("seed-cut.bin");
    long seedReceivedBefore = traffic(SEED)[1];
    long childrenBefore = sumReceived(CHILDREN);
    // After the piece timeout the children report the stalled seed and the scheduler blocks it;
    // a child with no parent that has its missing pieces goes to the origin after the scheduler's
    // back-to-source-after-rounds (10 rounds of 1 s by default).
    double bound = PIECE_TIMEOUT_SECONDS + CONNECT_TIMEOUT_SECONDS + BACK_TO_SOURCE_ROUNDS + 3 * copySeconds() + 10;
    double took = cutMidDownload("seed-cut", sha, SEED, 65002, () -> {
      long children = sumReceived(CHILDREN) - childrenBefore;
      return children >= CHILDREN.length * (long) SIZE / 4;
    }, bound, false);
    System.out.printf("seed peer cut off: the children were done %.1f s after the cut (bound %.1f s)%n", took, bound);
    assertThat(victimReceivedAtCut - seedReceivedBefore).as("bytes the seed peer had received at the cut")
        .isLessThan(SIZE * 9L / 10);
    assertThat(childLogs()).as("a child let the silent seed peer go").contains("(" + addr(SEED) + ") let go")
        .as("and went to the origin for what nobody else had").contains("back to source");
  }

  /**
   * The scheduler's host goes silent while three children fetch from the seed peer and each
   * other: nothing they need comes from the scheduler any more (parents and piece lists come
   * from the peers themselves), so they finish with what they have. A download that starts
   * while the scheduler is silent gets no answer to its registration; it falls back to the
   * origin after the stall timeout (set to {@value #LATE_STALL_TIMEOUT_SECONDS} s on that host).
   */
  @Test
  @Order(3)
  void theSchedulerHostGoingSilentMidDownloadLeavesRunningDownloadsToFinishFromPeers() throws Exception {
    String sha = originFile("scheduler-cut.bin");
    long childrenBefore = sumReceived(CHILDREN);
    double bound = PIECE_TIMEOUT_SECONDS + CONNECT_TIMEOUT_SECONDS + 3 * copySeconds() + 10;
    double took = cutMidDownload("scheduler-cut", sha, SCHEDULER, 8002, () -> {
      long children = sumReceived(CHILDREN) - childrenBefore;
      return children >= CHILDREN.length * (long) SIZE / 4;
    }, bound, true);
    System.out.printf("scheduler cut off: the children were done %.1f s after the cut (bound %.1f s)%n", took,
        bound);
    String taskId = TaskId.of(Download.newBuilder().setUrl(url("scheduler-cut.bin")).build());
    assertThat(childLogs()).as("the children finished from the seed peer and each other, not the origin")
        .contains("task " + taskId + " finished").doesNotContain("task " + taskId + ": back to source");

    // Still cut off: a new download of the same file on another host.
    try {
      Path lateOut = Files.createDirectories(work.resolve("scheduler-cut-late")).resolve("late.bin");
      long start = System.nanoTime();
      Process run = dfget(PARENT, url("scheduler-cut.bin"), lateOut, "--digest", "sha256:" + sha);
      double lateBound = LATE_STALL_TIMEOUT_SECONDS + 2 * copySeconds() + 10;
      try (OutputWatch watch = new OutputWatch(List.of(lateOut))) {
        boolean ended = run.waitFor((long) (lateBound * 1000), TimeUnit.MILLISECONDS);
        String err = Files.readString(lateOut.resolveSibling(lateOut.getFileName() + ".err"));
        assertThat(ended).as("the late dfget ended within %.1f s", lateBound).isTrue();
        assertThat(run.exitValue()).as(err).isZero();
        assertThat(OciRegistry.sha256(lateOut)).isEqualTo("sha256:" + sha);
        watch.close();
        assertThat(watch.violations).as("output paths that held a partial file").isEmpty();
      }
      System.out.printf("with the scheduler cut off, a new download took %.1f s (bound %.1f s)%n",
          (System.nanoTime() - start) / 1e9, lateBound);
      // Whichever comes first: the stall timeout, or the host's own announce finding the scheduler
      // gone (every 30 s, a 5 s deadline), after which a registration fails at once.
      assertThat(Files.readString(work.resolve("dfdaemon-h" + PARENT + ".log")))
          .containsPattern("back to source \\((no progress|scheduler unreachable: no scheduler is reachable)");
    } finally {
      reconnect(SCHEDULER);
    }
  }

  /** Bytes the victim's link had received just before the last cut. */
  static long victimReceivedAtCut;

  /**
   * The children fetch a new file at once; when {@code cutWhen} holds, host {@code victim} is
   * cut off (checked: a port it listens on and a closed one, connected and refused before, both
   * silent after). Every child must end with the file (sha256) within {@code boundSeconds} of the
   * cut, and no output path may ever hold anything but the whole file. Reconnects the victim
   * unless {@code keepCut} (then the caller does, or @AfterAll). Returns the seconds from the cut
   * until the last child was done.
   */
  private static double cutMidDownload(String name, String sha, int victim, int victimPort, Check cutWhen,
      double boundSeconds, boolean keepCut) throws Exception {
    assertThat(boundSeconds).as("the bound stays below the stall timeout, after which a task goes to the origin anyway")
        .isLessThan(STALL_TIMEOUT_SECONDS);
    assertThat(reachability(CHILDREN[0], victim, victimPort)).as("host %d, before the cut", victim)
        .containsExactly("connected", "refused");
    String url = url(name + ".bin");
    Path outDir = Files.createDirectories(work.resolve(name));
    List<Path> outs = new ArrayList<>();
    for (int h : CHILDREN) {
      outs.add(outDir.resolve("h" + h + ".bin"));
    }
    List<Process> runs = new ArrayList<>();
    long cutAt;
    try (OutputWatch watch = new OutputWatch(outs)) {
      for (int i = 0; i < CHILDREN.length; i++) {
        runs.add(dfget(CHILDREN[i], url, outs.get(i), "--digest", "sha256:" + sha));
      }
      awaitTraffic(cutWhen, runs, "the moment to cut host " + victim + " off");
      victimReceivedAtCut = traffic(victim)[1];
      cutOff(victim);
      cutAt = System.nanoTime();
      assertThat(reachability(CHILDREN[0], victim, victimPort)).as("host %d, once cut off", victim)
          .containsExactly("silent", "silent");
      for (int i = 0; i < CHILDREN.length; i++) {
        Process run = runs.get(i);
        Path out = outs.get(i);
        long leftNanos = cutAt + (long) (boundSeconds * 1e9) - System.nanoTime();
        boolean ended = run.waitFor(Math.max(leftNanos, 0), TimeUnit.NANOSECONDS);
        String err = Files.readString(out.resolveSibling(out.getFileName() + ".err"));
        assertThat(ended).as("host %d's dfget ended within %.1f s of the cut", CHILDREN[i], boundSeconds).isTrue();
        assertThat(run.exitValue()).as("host %d: %s", CHILDREN[i], err).isZero();
        assertThat(OciRegistry.sha256(out)).as("host %d's copy", CHILDREN[i]).isEqualTo("sha256:" + sha);
      }
      double took = (System.nanoTime() - cutAt) / 1e9;
      watch.close();
      assertThat(watch.violations).as("output paths that held a partial file").isEmpty();
      assertNoLeftovers(outDir);
      return took;
    } finally {
      for (Process run : runs) {
        run.destroyForcibly();
      }
      if (cut.contains(victim) && !keepCut) {
        reconnect(victim);
      }
    }
  }

  private static String childLogs() throws IOException {
    StringBuilder logs = new StringBuilder();
    for (int h : CHILDREN) {
      logs.append(Files.readString(work.resolve("dfdaemon-h" + h + ".log")));
    }
    return logs.toString();
  }

  interface Check {
    boolean done() throws IOException, InterruptedException;
  }

  private static void awaitTraffic(Check check, List<Process> runs, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!check.done()) {
      assertThat(runs.stream().allMatch(Process::isAlive)).as("every dfget still running, awaiting " + what).isTrue();
      assertThat(System.nanoTime()).as("awaiting " + what).isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
