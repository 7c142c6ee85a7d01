package io.dfly.scheduler.scheduling;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.metrics.SchedulerMetrics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The decision path alone, in one JVM, no gRPC: N hosts register one peer each on one task
 * with a seed peer, report pieces as a swarm would, and every round re-evaluates every running
 * peer. Prints decisions per second and latency percentiles; the bar for the whole scheduler
 * over gRPC is >5,000 decisions/s with p99 < 20 ms on 2 cores.
 *
 * <pre>./mvnw -o -q -pl scheduler test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp scheduler/target/test-classes:scheduler/target/classes:$(cat scheduler/target/cp.txt) \
 *   io.dfly.scheduler.scheduling.DecisionBench [hosts] [pieces] [rounds]</pre>
 */
public final class DecisionBench {
  private static final NoStream DISCARD = new NoStream();

  public static void main(String[] args) {
    int hostCount = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int pieces = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    // Registered first, so the scheduler's timer (same name) is this one, with percentiles.
    Timer latency = Timer.builder("dfly.scheduler.decision.latency").publishPercentiles(0.5, 0.99, 0.999)
        .register(registry);
    SchedulerMetrics metrics = new SchedulerMetrics(registry);
    TaskScheduler scheduler = new TaskScheduler(new SchedulerConfig(),
        (seed, task, peerId, download) -> java.util.concurrent.CompletableFuture.completedFuture(null), metrics,
        System::nanoTime);
    RegisterPeer download = RegisterPeer.newBuilder()
        .setDownload(Download.newBuilder().setUrl("http://origin/big")).build();
    Random random = new Random(1);

    Host seed = Host.newBuilder().setId("seed").setIp("10.0.0.1").setType(HostType.HOST_TYPE_SEED)
        .setUploadLimit(200).build();
    scheduler.announceHost(seed, null);
    long start = System.nanoTime();
    for (int i = 0; i < hostCount; i++) {
      Host host = Host.newBuilder().setId("h" + i).setIp("10.1." + i / 250 + "." + i % 250).setUploadLimit(200)
          .setIdc("dc" + i % 4).setLocation("cn|r" + i % 3 + "|z" + i % 7).build();
      scheduler.announceHost(host, null);
      scheduler.register("task", "p" + i, scheduler.host(host.getId()), download, DISCARD);
      if (i == 0) {
        scheduler.register("task", "seed-peer", scheduler.host("seed"), download, DISCARD);
      }
    }
    long registerNanos = System.nanoTime() - start;
    double registrations = hostCount / (registerNanos / 1e9);

    long decisions = 0;
    long roundNanos = 0;
    for (int round = 0; round < rounds; round++) {
      // A swarm's progress between rounds: the seed gains pieces, each peer a few from a parent.
      int seedHas = Math.min(pieces, (round + 1) * pieces / rounds);
      for (int n = 0; n < seedHas; n++) {
        report(scheduler, "seed-peer", "", n);
      }
      for (int i = 0; i < hostCount; i++) {
        for (int k = 0; k < 3; k++) {
          report(scheduler, "p" + i, "seed-peer", random.nextInt(seedHas));
        }
      }
      long before = count(registry);
      long t = System.nanoTime();
      scheduler.tick();
      roundNanos += System.nanoTime() - t;
      decisions += count(registry) - before;
    }
    System.out.printf("hosts %d, pieces %d: %d registrations in %.0f ms (%.0f/s)%n", hostCount, pieces, hostCount,
        registerNanos / 1e6, registrations);
    System.out.printf("re-evaluation rounds: %d decisions in %.0f ms = %.0f decisions/s on one thread%n",
        decisions, roundNanos / 1e6, decisions / (roundNanos / 1e9));
    System.out.printf("decision latency: mean %.1f us, max %.1f us (bar: >5,000 decisions/s, p99 < 20 ms)%n",
        latency.mean(TimeUnit.MICROSECONDS), latency.max(TimeUnit.MICROSECONDS));
    for (ValueAtPercentile p : latency.takeSnapshot().percentileValues()) {
      System.out.printf("  p%s %.1f us%n", p.percentile() * 100, p.value(TimeUnit.MICROSECONDS));
    }
  }

  private static long count(SimpleMeterRegistry registry) {
    return (long) registry.find("dfly.scheduler.decision.latency").timer().count();
  }

  private static void report(TaskScheduler scheduler, String peer, String parent, int number) {
    scheduler.pieceFinished("task", peer, PieceFinished.newBuilder()
        .setPiece(Piece.newBuilder().setNumber(number).setLength(1 << 20))
        .setParentId(parent).setCostNanos(5_000_000 + number * 1000L).build());
  }
}
