package io.dfly.e2e;

import static io.dfly.e2e.DfgetRuns.awaitProgress;
import static io.dfly.e2e.DfgetRuns.dfget;
import static io.dfly.e2e.DfgetRuns.finish;
import static io.dfly.e2e.DfgetRuns.sha256;
import static io.dfly.e2e.DfgetRuns.startDfget;
import static io.dfly.e2e.SchedulerStats.awaitPeers;
import static io.dfly.e2e.SchedulerStats.statTask;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.api.common.v1.Download;
import io.dfly.api.scheduler.v1.TaskStat;
import io.dfly.common.net.HostPort;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.e2e.DfgetRuns.Run;
import io.dfly.quickstart.LocalCluster;
import io.dfly.quickstart.OriginServer;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two schedulers, a seed peer and three dfdaemons as real processes. The scheduler that owns a
 * task (by rendezvous hashing of its id) is killed while every host is mid-download: the peers
 * register again with the other scheduler, reporting the pieces they hold, and finish from the
 * seed peer and each other. The origin serves the file once; no piece is fetched twice from it.
 */
class SchedulerFailoverTest {
  private static final int SIZE = 32 << 20;
  private static final int PEERS = 3;

  @TempDir
  Path work;

  @Test
  void killingTheSchedulerOfATaskMidDownloadMovesItsPeersToTheOther() throws Exception {
    Path originDir = Files.createDirectories(work.resolve("origin"));
    byte[] content = new byte[SIZE];
    new Random(42).nextBytes(content);
    Files.write(originDir.resolve("failover.bin"), content);
    String sha = sha256(content);
    Path slowSeed = Files.writeString(work.resolve("seed.yaml"), "download-rate: 4MiB\n");
    Path announce = Files.writeString(work.resolve("peer.yaml"), "announce-interval-seconds: 2\n");

    try (OriginServer origin = new OriginServer(originDir);
        LocalCluster cluster = new LocalCluster(work.resolve("cluster")).startSchedulers(2)) {
      String url = origin.url("failover.bin");
      String taskId = TaskId.of(Download.newBuilder().setUrl(url).build());
      List<String> schedulers = cluster.schedulerAddresses();
      int owner = ownerIndex(schedulers, taskId);
      int survivor = 1 - owner;

      LocalCluster.Daemon seed = cluster.addSeedPeer("seed", "--config", slowSeed.toString());
      List<LocalCluster.Daemon> peers = new ArrayList<>();
      for (int i = 0; i < PEERS; i++) {
        peers.add(cluster.addDaemon("peer-" + i, "--config", announce.toString()));
      }
      List<Process> runs = new ArrayList<>();
      for (LocalCluster.Daemon peer : peers) {
        runs.add(startDfget(peer, url, work.resolve(peer.name() + ".out"),
            "--limit", "4MiB", "--digest", "sha256:" + sha));
      }
      for (LocalCluster.Daemon peer : peers) {
        awaitProgress(peer, url, 0.15);
      }
      assertThat(statTask(schedulers.get(owner), taskId).getPeerCount()).isEqualTo(PEERS + 1);
      assertThatThrownBy(() -> statTask(schedulers.get(survivor), taskId))
          .as("every peer of the task met on its owner").isInstanceOf(StatusRuntimeException.class);
      int seedPiecesAtKill = LocalCluster.stat(seed, url).finishedPieces();
      int piecesAtKill = LocalCluster.stat(seed, url).pieceCount();

      cluster.killScheduler(owner);

      for (int i = 0; i < PEERS; i++) {
        Path out = work.resolve(peers.get(i).name() + ".out");
        Run result = finish(runs.get(i), out);
        assertThat(result.exit()).as(result.stderr()).isZero();
        assertThat(sha256(out)).isEqualTo(sha);
        assertThat(LocalCluster.stat(peers.get(i), url).fromOrigin())
            .as("%s took every piece from the seed peer and other peers", peers.get(i).name()).isZero();
        assertThat(Files.readString(peers.get(i).log()))
            .as("registered with the owner, then again with the other one")
            .contains("with scheduler " + schedulers.get(owner) + " (0 pieces here)")
            .contains("with scheduler " + schedulers.get(survivor));
      }
      assertThat(seedPiecesAtKill).as("the kill landed mid-transfer").isLessThan(piecesAtKill);
      awaitComplete(seed, url);
      TaskStat moved = statTask(schedulers.get(survivor), taskId);
      assertThat(moved.getPeerCount()).as("the seed peer and every peer registered again").isEqualTo(PEERS + 1);
      assertThat(moved.getState()).isEqualTo("SUCCEEDED");
      // One copy: the seed peer's one-byte probe plus each piece once, none fetched again.
      assertThat(origin.bytesSent()).isLessThanOrEqualTo(SIZE + 1L);

      // The owner comes back empty: the task moves back to it, and the hosts that hold the file
      // announce it there, so a newcomer gets it from them and not from the origin.
      cluster.restartScheduler(owner);
      awaitPeers(schedulers.get(owner), taskId, PEERS);
      LocalCluster.Daemon late = cluster.addDaemon("late", "--config", announce.toString());
      Path lateOut = work.resolve("late.out");
      Run fromPeers = dfget(late, url, lateOut, "--digest", "sha256:" + sha);
      assertThat(fromPeers.exit()).as(fromPeers.stderr()).isZero();
      assertThat(LocalCluster.stat(late, url).fromOrigin()).isZero();
      assertThat(Files.readString(late.log())).contains("with scheduler " + schedulers.get(owner));
      assertThat(origin.bytesSent()).isLessThanOrEqualTo(SIZE + 1L);
    }
  }

  @Test
  void aSchedulerThatComesBackTakesItsRunningTasksBack() throws Exception {
    Path originDir = Files.createDirectories(work.resolve("origin"));
    byte[] content = new byte[SIZE];
    new Random(7).nextBytes(content);
    Files.write(originDir.resolve("comeback.bin"), content);
    String sha = sha256(content);
    Path slowSeed = Files.writeString(work.resolve("seed.yaml"),
        "download-rate: 3MiB\nannounce-interval-seconds: 1\n");
    Path announce = Files.writeString(work.resolve("peer.yaml"), "announce-interval-seconds: 1\n");

    try (OriginServer origin = new OriginServer(originDir);
        LocalCluster cluster = new LocalCluster(work.resolve("cluster")).startSchedulers(2)) {
      String url = origin.url("comeback.bin");
      String taskId = TaskId.of(Download.newBuilder().setUrl(url).build());
      List<String> schedulers = cluster.schedulerAddresses();
      int owner = ownerIndex(schedulers, taskId);
      int other = 1 - owner;
      LocalCluster.Daemon seed = cluster.addSeedPeer("seed", "--config", slowSeed.toString());
      List<LocalCluster.Daemon> peers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        peers.add(cluster.addDaemon("peer-" + i, "--config", announce.toString()));
      }

      // The owner is down when the downloads start: they run on the other scheduler.
      cluster.killScheduler(owner);
      Thread.sleep(3000);
      List<Process> runs = new ArrayList<>();
      for (LocalCluster.Daemon peer : peers) {
        runs.add(startDfget(peer, url, work.resolve(peer.name() + ".out"),
            "--limit", "3MiB", "--digest", "sha256:" + sha));
      }
      for (LocalCluster.Daemon peer : peers) {
        awaitProgress(peer, url, 0.1);
      }
      assertThat(statTask(schedulers.get(other), taskId).getPeerCount()).isEqualTo(3);

      // Back, empty: the running downloads move to it, so a newcomer finds them there.
      cluster.restartScheduler(owner);
      for (LocalCluster.Daemon peer : peers) {
        awaitLog(peer, "scheduler " + schedulers.get(owner) + " owns it now; leaving " + schedulers.get(other));
      }
      LocalCluster.Daemon late = cluster.addDaemon("late", "--config", announce.toString());
      Path lateOut = work.resolve("late.out");
      Run fromPeers = dfget(late, url, lateOut, "--digest", "sha256:" + sha);
      assertThat(fromPeers.exit()).as(fromPeers.stderr()).isZero();
      assertThat(LocalCluster.stat(late, url).fromOrigin()).isZero();
      for (int i = 0; i < peers.size(); i++) {
        Path out = work.resolve(peers.get(i).name() + ".out");
        Run result = finish(runs.get(i), out);
        assertThat(result.exit()).as(result.stderr()).isZero();
        assertThat(sha256(out)).isEqualTo(sha);
      }
      assertThat(statTask(schedulers.get(owner), taskId).getPeerCount())
          .as("the seed peer, both peers and the newcomer on the owner").isEqualTo(4);
      for (LocalCluster.Daemon peer : peers) {
        assertThat(LocalCluster.stat(peer, url).fromOrigin()).as("%s fetched nothing from the origin", peer.name())
            .isZero();
      }
      // The seed peer's one-byte probe and one copy. While the task moves, the seed peer often
      // leaves the other scheduler first; that scheduler asks it again rather than replacing it,
      // so the peers still there wait the moment until they move instead of going to the origin.
      assertThat(origin.bytesSent()).isEqualTo(SIZE + 1L);
    }
  }

  /** Which of the schedulers owns the task while all are up (the daemons' rendezvous hashing). */
  private static int ownerIndex(List<String> schedulers, String taskId) {
    return schedulers.indexOf(SchedulerClient.ownerOf(
        schedulers.stream().map(HostPort::parse).toList(), taskId).toString());
  }

  private static void awaitLog(LocalCluster.Daemon daemon, String line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.readString(daemon.log()).contains(line)) {
      assertThat(System.nanoTime()).as("%s logged: %s", daemon.name(), line).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private static void awaitComplete(LocalCluster.Daemon daemon, String url) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (LocalCluster.stat(daemon, url).finishedPieces() < LocalCluster.stat(daemon, url).pieceCount()) {
      assertThat(System.nanoTime()).as("%s finished the task", daemon.name()).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
