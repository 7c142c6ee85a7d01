package io.dfly.quickstart;

import io.dfly.common.fs.FileTrees;
import io.dfly.quickstart.LocalCluster.TaskStat;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One command that shows the system working: a local origin, a scheduler, a seed peer and N
 * dfdaemons as separate processes; every dfdaemon fetches the same file at once through dfget;
 * every copy is checked, and where each peer's bytes came from is printed.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
    description = "Runs a local cluster and distributes a generated file through it.")
public final class Quickstart implements Callable<Integer> {
  private static final long MIB = 1 << 20;

  @Option(names = "--size-mib", defaultValue = "256", description = "file size in MiB (default ${DEFAULT-VALUE})")
  long sizeMib;

  @Option(names = "--peers", defaultValue = "3", description = "dfdaemons besides the seed peer (default ${DEFAULT-VALUE})")
  int peers;

  @Option(names = "--keep", description = "keep the work directory (logs, piece stores, outputs)")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    Path work = Files.createTempDirectory("dfly-quickstart-");
    try {
      return run(work);
    } finally {
      if (keep) {
        System.out.println("work directory kept: " + work);
      } else {
        FileTrees.delete(work);
      }
    }
  }

  private int run(Path work) throws Exception {
    Path originDir = Files.createDirectories(work.resolve("origin"));
    long size = sizeMib * MIB;
    System.out.printf("generating a %d MiB file ...%n", sizeMib);
    String sha256 = generate(originDir.resolve("blob.bin"), size);
    try (OriginServer origin = new OriginServer(originDir);
        LocalCluster cluster = new LocalCluster(work)) {
      String url = origin.url("blob.bin");
      System.out.printf("starting a scheduler, a seed peer and %d dfdaemons (separate processes) ...%n", peers);
      cluster.start(peers);
      System.out.printf("dfget %s on every dfdaemon at once ...%n", url);
      long start = System.nanoTime();
      List<Process> dfgets = new ArrayList<>();
      for (LocalCluster.Daemon daemon : cluster.peers()) {
        dfgets.add(cluster.dfget(daemon, url, work.resolve(daemon.name() + ".out"), "--digest", "sha256:" + sha256));
      }
      List<CompletableFuture<Double>> finishedAt = dfgets.stream()
          .map(p -> p.onExit().thenApply(done -> (System.nanoTime() - start) / 1e9)).toList();
      List<Double> seconds = new ArrayList<>();
      List<Integer> exits = new ArrayList<>();
      for (int i = 0; i < dfgets.size(); i++) {
        Process dfget = dfgets.get(i);
        if (!dfget.waitFor(10, TimeUnit.MINUTES)) {
          dfget.destroyForcibly();
        }
        exits.add(dfget.isAlive() ? -1 : dfget.exitValue());
        seconds.add(dfget.isAlive() ? Double.NaN : finishedAt.get(i).join());
      }
      double total = (System.nanoTime() - start) / 1e9;
      return report(cluster, url, sha256, size, exits, seconds, total, origin);
    }
  }

  private int report(LocalCluster cluster, String url, String sha256, long size, List<Integer> exits,
      List<Double> seconds, double total, OriginServer origin) throws IOException, NoSuchAlgorithmException {
    System.out.println();
    System.out.printf("%-10s %-9s %14s %16s %14s %8s%n", "peer", "sha256", "from origin", "from seed peer", "from peers", "done at");
    int good = 0;
    long fromPeers = 0;
    for (int i = 0; i < cluster.peers().size(); i++) {
      LocalCluster.Daemon daemon = cluster.peers().get(i);
      Path out = cluster.workDir().resolve(daemon.name() + ".out");
      boolean ok = exits.get(i) == 0 && Files.isRegularFile(out) && sha256(out).equals(sha256);
      good += ok ? 1 : 0;
      TaskStat traffic = ok ? LocalCluster.stat(daemon, url) : new TaskStat("FAILED", 0, 0, 0, 0, 0, 0);
      fromPeers += traffic.fromPeers();
      System.out.printf("%-10s %-9s %14s %16s %14s %7.1fs%n", daemon.name(), ok ? "ok" : "WRONG",
          mib(traffic.fromOrigin()), mib(traffic.fromSeedPeers()), mib(traffic.fromPeers()), seconds.get(i));
      if (!ok) {
        System.out.printf("  dfget exit %d; see %s%n", exits.get(i), cluster.workDir().resolve(daemon.name() + ".dfget.log"));
      }
    }
    TaskStat seedStat = LocalCluster.stat(cluster.seed(), url);
    System.out.printf("%-10s %-9s %14s%n", "seed-peer", seedStat.state().toLowerCase(), mib(seedStat.fromOrigin()));
    System.out.println();
    System.out.printf("origin served %s for a %s file (%.2fx) in %d requests%n", mib(origin.bytesSent()), mib(size),
        (double) origin.bytesSent() / size, origin.requests());
    System.out.printf("peers served each other %s; %d of %d copies verified in %.1f s (%.0f MiB/s per peer)%n",
        mib(fromPeers), good, exits.size(), total, size / (double) MIB / total);
    boolean pass = good == exits.size();
    System.out.println(pass ? "quickstart: OK" : "quickstart: FAILED (logs in " + cluster.workDir() + ", use --keep)");
    return pass ? 0 : 1;
  }

  /** Writes {@code size} pseudo-random bytes (the same for a given size) and returns their sha256. */
  static String generate(Path file, long size) throws IOException, NoSuchAlgorithmException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    SplittableRandom random = new SplittableRandom(size);
    ByteBuffer chunk = ByteBuffer.allocate((int) MIB);
    try (OutputStream out = Files.newOutputStream(file)) {
      for (long left = size; left > 0; ) {
        chunk.clear();
        while (chunk.remaining() >= Long.BYTES) {
          chunk.putLong(random.nextLong());
        }
        int n = (int) Math.min(left, MIB);
        sha.update(chunk.array(), 0, n);
        out.write(chunk.array(), 0, n);
        left -= n;
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (var in = Files.newInputStream(file)) {
      byte[] buffer = new byte[(int) MIB];
      int n;
      while ((n = in.read(buffer)) > 0) {
        sha.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / (double) MIB);
  }
}
