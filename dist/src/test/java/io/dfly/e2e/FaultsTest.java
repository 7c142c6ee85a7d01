package io.dfly.e2e;

import static io.dfly.e2e.DfgetRuns.awaitProgress;
import static io.dfly.e2e.DfgetRuns.dfget;
import static io.dfly.e2e.DfgetRuns.finish;
import static io.dfly.e2e.DfgetRuns.sha256;
import static io.dfly.e2e.DfgetRuns.startDfget;
import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.quickstart.LocalCluster.TaskStat;
import io.dfly.e2e.DfgetRuns.Run;
import io.dfly.quickstart.LocalCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Faults with real processes: a parent killed mid-transfer, a parent serving a corrupted piece,
 * a dfdaemon killed mid-download and restarted, a full store, and rate limits. One scheduler;
 * each test starts the dfdaemons it needs and fetches its own file, so tests do not share tasks.
 */
class FaultsTest extends OriginAndScheduler {
  private static final int SIZE = 32 << 20;



  /** A new file at the origin; returns its sha256. */
  private static String originFile(String name, int size) throws Exception {
    byte[] content = new byte[size];
    new Random(name.hashCode()).nextBytes(content);
    Files.write(originDir.resolve(name), content);
    return sha256(content);
  }

  private static List<Path> leftovers(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().contains("dfget-tmp")).toList();
    }
  }

  @Test
  void aParentKilledMidTransferLeavesTheChildACorrectFile() throws Exception {
    String sha = originFile("killed.bin", SIZE);
    String url = origin.url("killed.bin");
    LocalCluster.Daemon parent = cluster.addDaemon("killed-parent");
    LocalCluster.Daemon child = cluster.addDaemon("killed-child");
    assertThat(dfget(parent, url, work.resolve("killed-parent.out")).exit()).isZero();

    Path out = work.resolve("killed-child.out");
    Process run = startDfget(child, url, out, "--limit", "8MiB", "--digest", "sha256:" + sha);
    awaitProgress(child, url, 0.2);
    cluster.kill(parent);
    Run result = finish(run, out);

    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(sha256(out)).isEqualTo(sha);
    TaskStat stat = LocalCluster.stat(child, url);
    assertThat(stat.fromPeers()).as("part came from the parent").isPositive();
    assertThat(stat.fromOrigin()).as("the rest from the origin").isPositive();
  }

  @Test
  void aCorruptedPieceInAParentsStoreIsDetectedAndFetchedElsewhere() throws Exception {
    String sha = originFile("corrupt.bin", SIZE);
    String url = origin.url("corrupt.bin");
    LocalCluster.Daemon parent = cluster.addDaemon("corrupt-parent");
    LocalCluster.Daemon child = cluster.addDaemon("corrupt-child");
    assertThat(dfget(parent, url, work.resolve("corrupt-parent.out")).exit()).isZero();
    Path data;
    try (Stream<Path> tasks = Files.list(parent.dataDir().resolve("tasks"))) {
      data = tasks.findFirst().orElseThrow().resolve("data");
    }
    // Flip bytes in the middle of the parent's copy, behind its back.
    try (RandomAccessFile file = new RandomAccessFile(data.toFile(), "rw")) {
      file.seek(SIZE / 2);
      file.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    }

    Path out = work.resolve("corrupt-child.out");
    Run result = dfget(child, url, out, "--digest", "sha256:" + sha);

    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(sha256(out)).isEqualTo(sha);
    TaskStat stat = LocalCluster.stat(child, url);
    assertThat(stat.fromOrigin()).as("the corrupt piece came from elsewhere").isPositive();
    assertThat(Files.readString(child.log())).contains("does not match");
  }

  @Test
  void aDaemonKilledMidDownloadResumesAfterRestartWithoutFetchingFinishedPiecesAgain() throws Exception {
    String sha = originFile("restart.bin", SIZE);
    String url = origin.url("restart.bin");
    LocalCluster.Daemon daemon = cluster.addDaemon("restart");
    Process run = startDfget(daemon, url, work.resolve("restart-first.out"), "--limit", "4MiB");
    awaitProgress(daemon, url, 0.3);
    Thread.sleep(2200); // past a checkpoint (every 2 s), well before the end (8 s at 4 MiB/s)
    cluster.kill(daemon);
    run.waitFor(30, TimeUnit.SECONDS);
    assertThat(work.resolve("restart-first.out")).doesNotExist();
    long originAtRestart = origin.bytesSent();

    cluster.restart(daemon);
    Path out = work.resolve("restart.out");
    Run result = dfget(daemon, url, out, "--digest", "sha256:" + sha);

    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(sha256(out)).isEqualTo(sha);
    String log = Files.readString(cluster.workDir().resolve("restart-restarted.log"));
    java.util.regex.Matcher resumed = java.util.regex.Pattern.compile("resuming with (\\d+) of 32 pieces").matcher(log);
    assertThat(resumed.find()).as("the restarted daemon resumes the task").isTrue();
    int kept = Integer.parseInt(resumed.group(1));
    assertThat(kept).isPositive();
    // 32 pieces of 1 MiB: after the restart the origin serves only the pieces not kept (and a probe byte).
    assertThat(origin.bytesSent() - originAtRestart).as("origin bytes after a restart that kept %d pieces", kept)
        .isLessThanOrEqualTo((32L - kept) * (1 << 20) + 4096);
  }

  @Test
  void aFullStoreFailsTheDownloadWithAClearErrorAndNoOutput() throws Exception {
    originFile("big.bin", SIZE);
    String url = origin.url("big.bin");
    Path config = work.resolve("quota.yaml");
    Files.writeString(config, "gc:\n  quota: 8MiB\n");
    LocalCluster.Daemon quota = cluster.addDaemon("quota", "--config", config.toString());
    Path out = work.resolve("quota-out");
    Files.createDirectories(out);
    Run result = dfget(quota, url, out.resolve("big.bin"));
    assertThat(result.exit()).as(result.stderr()).isEqualTo(5);
    assertThat(result.stderr()).contains("disk quota reached").contains("8388608 byte quota");
    assertThat(out.resolve("big.bin")).doesNotExist();
    assertThat(leftovers(out)).isEmpty();

    // A real filesystem that is too small: a 16 MiB tmpfs as the daemon's data directory.
    Path small = cluster.workDir().resolve("tiny");
    Files.createDirectories(small);
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small.toString())
        .redirectErrorStream(true).start();
    assertThat(mount.waitFor()).as("mounting a tmpfs (the tests run as root): "
        + new String(mount.getInputStream().readAllBytes())).isZero();
    try {
      LocalCluster.Daemon tiny = cluster.addDaemon("tiny");
      Run full = dfget(tiny, url, out.resolve("big2.bin"));
      assertThat(full.exit()).as(full.stderr()).isEqualTo(5);
      assertThat(full.stderr()).contains("not enough disk space");
      assertThat(out.resolve("big2.bin")).doesNotExist();
      cluster.kill(tiny);
    } finally {
      new ProcessBuilder("umount", "-l", small.toString()).start().waitFor();
    }
  }

  @Test
  void rateLimitsHold() throws Exception {
    int size = 16 << 20;
    String sha = originFile("limited.bin", size);
    String url = origin.url("limited.bin");
    Path config = work.resolve("limited.yaml");
    Files.writeString(config, "download-rate: 4MiB\n");
    LocalCluster.Daemon daemon = cluster.addDaemon("limited", "--config", config.toString());
    long start = System.nanoTime();
    Run result = dfget(daemon, url, work.resolve("limited.out"));
    double seconds = (System.nanoTime() - start) / 1e9;
    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(sha256(work.resolve("limited.out"))).isEqualTo(sha);
    // 16 MiB at 4 MiB/s: at least (16 MiB - one burst) / rate, whatever the machine.
    assertThat(seconds).as("16 MiB under a 4 MiB/s host limit").isGreaterThan(3.5);

    // Changed while running, through `dfdaemon limits`, down from 4 to 2 MiB/s: 9 MiB take over 4 s.
    List<String> limits = LocalCluster.javaCommand("io.dfly.daemon.DfdaemonMain", "-Xmx128m");
    limits.addAll(List.of("limits", "--daemon", daemon.api(), "--download-rate", "2MiB"));
    Process set = new ProcessBuilder(limits).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String said = new String(set.getInputStream().readAllBytes());
    assertThat(set.waitFor()).isZero();
    assertThat(said).contains("download 2.0 MiB/s");
    originFile("limited3.bin", 9 << 20);
    start = System.nanoTime();
    Run lowered = dfget(daemon, origin.url("limited3.bin"), work.resolve("limited3.out"));
    assertThat(lowered.exit()).as(lowered.stderr()).isZero();
    assertThat((System.nanoTime() - start) / 1e9).as("9 MiB after the host limit went down to 2 MiB/s").isGreaterThan(4.0);

    // Per task, below the host's: 8 MiB at 2 MiB/s.
    originFile("limited2.bin", 8 << 20);
    start = System.nanoTime();
    Run perTask = dfget(daemon, origin.url("limited2.bin"), work.resolve("limited2.out"), "--limit", "2MiB");
    assertThat(perTask.exit()).as(perTask.stderr()).isZero();
    assertThat((System.nanoTime() - start) / 1e9).as("8 MiB under a 2 MiB/s task limit").isGreaterThan(3.5);
  }

  @Test
  void readsRangesAndStreamsToStdoutInOrder() throws Exception {
    String sha = originFile("ranged.bin", SIZE);
    byte[] content = Files.readAllBytes(originDir.resolve("ranged.bin"));
    String url = origin.url("ranged.bin");
    LocalCluster.Daemon daemon = cluster.addDaemon("ranged");

    Path part = work.resolve("ranged.part");
    Run range = dfget(daemon, url, part, "--range", "3000000-4999999");
    assertThat(range.exit()).as(range.stderr()).isZero();
    assertThat(Files.readAllBytes(part)).isEqualTo(java.util.Arrays.copyOfRange(content, 3_000_000, 5_000_000));
    TaskStat afterRange = LocalCluster.stat(daemon, url);
    assertThat(afterRange.finishedPieces()).as("only the pieces of the range").isLessThan(afterRange.pieceCount());

    List<String> command = LocalCluster.javaCommand("io.dfly.dfget.DfgetMain", "-Xmx128m");
    command.addAll(List.of(url, "-O", "-", "--daemon", daemon.api(), "--no-progress"));
    Path streamed = work.resolve("ranged.stdout");
    Process process = new ProcessBuilder(command).redirectOutput(streamed.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(process.exitValue()).isZero();
    assertThat(sha256(streamed)).isEqualTo(sha);
  }

  @Test
  void dfcacheImportsOnOneHostAndExportsOnAnother() throws Exception {
    LocalCluster.Daemon a = cluster.addDaemon("cache-a");
    LocalCluster.Daemon b = cluster.addDaemon("cache-b");
    byte[] model = new byte[5 << 20];
    new Random(5).nextBytes(model);
    Path file = Files.write(work.resolve("model.bin"), model);

    assertThat(dfcache(a, "import", file.toString(), "--cid", "model-v1").exit()).isZero();
    Run export = dfcache(b, "export", "--cid", "model-v1", "-O", work.resolve("model.out").toString(), "--no-progress");
    assertThat(export.exit()).as(export.stderr()).isZero();
    assertThat(Files.readAllBytes(work.resolve("model.out"))).isEqualTo(model);

    Run missing = dfcache(b, "export", "--cid", "nobody-has-it", "-O", work.resolve("none.out").toString());
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.stderr()).contains("back-to-source is disabled");
    assertThat(work.resolve("none.out")).doesNotExist();

    assertThat(dfcache(a, "delete", "--cid", "model-v1").exit()).isZero();
    Run stat = dfcache(a, "stat", "--cid", "model-v1");
    assertThat(stat.exit()).isEqualTo(1);
    assertThat(stat.stderr()).contains("is not here");
  }

  @Test
  void recursiveDownloadsKeepTheTree() throws Exception {
    Path tree = Files.createDirectories(work.resolve("tree/sub/deeper"));
    Files.writeString(work.resolve("tree/a.txt"), "alpha");
    Files.writeString(tree.resolve("b.txt"), "beta");
    LocalCluster.Daemon daemon = cluster.addDaemon("recursive");
    Path out = work.resolve("tree-copy");
    Run result = dfget(daemon, work.resolve("tree").toUri().toString(), out, "--recursive");
    assertThat(result.exit()).as(result.stderr()).isZero();
    assertThat(out.resolve("a.txt")).hasContent("alpha");
    assertThat(out.resolve("sub/deeper/b.txt")).hasContent("beta");
  }

  private static Run dfcache(LocalCluster.Daemon daemon, String... args) throws Exception {
    List<String> command = LocalCluster.javaCommand("io.dfly.dfcache.DfcacheMain", "-Xmx128m");
    command.addAll(List.of(args));
    command.addAll(List.of("--daemon", daemon.api()));
    Path err = Files.createTempFile(work, "dfcache", ".err");
    Process process = new ProcessBuilder(new ArrayList<>(command)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(err.toFile()).start();
    assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
    return new Run(process.exitValue(), Files.readString(err));
  }
}
