package io.dfly.scheduler.scheduling;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.metrics.SchedulerMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A scheduler with a clock the test moves, a recording seed trigger, and helpers to play peers. */
final class SchedulerFixture {
  static final String TASK = "t";
  static final Download DOWNLOAD = Download.newBuilder().setUrl("http://origin/f").build();
  static final long PIECE = 4 << 20;

  final SchedulerConfig config;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** Seed triggers, as "seed host/task". */
  final List<String> triggered = new ArrayList<>();
  /** The seed peer ids the triggers carried, in the same order. */
  final List<String> triggeredPeers = new ArrayList<>();
  CompletableFuture<Void> triggerResult = CompletableFuture.completedFuture(null);
  /** Seed hosts whose triggers fail, as a dead dfdaemon's would. */
  final Set<String> deadSeeds = new HashSet<>();
  long now = TimeUnit.HOURS.toNanos(1);
  final TaskScheduler scheduler;
  private int hosts;

  SchedulerFixture() {
    this(withoutSeedGrace());
  }

  /** Most tests start a scheduler and use it at once, as if it had been up for a while. */
  static SchedulerConfig withoutSeedGrace() {
    SchedulerConfig config = new SchedulerConfig();
    config.seedGraceSeconds = 0;
    return config;
  }

  SchedulerFixture(SchedulerConfig config) {
    this.config = config;
    scheduler = new TaskScheduler(config, (seed, taskId, peerId, download) -> {
      triggered.add(seed.getId() + "/" + taskId);
      triggeredPeers.add(peerId);
      return deadSeeds.contains(seed.getId())
          ? CompletableFuture.failedFuture(new RuntimeException("connection refused")) : triggerResult;
    }, new SchedulerMetrics(registry), () -> now);
  }

  /** The seed peer id the last trigger carried: the one the scheduler offers already. */
  String lastTriggeredPeer() {
    return triggeredPeers.getLast();
  }

  void advanceSeconds(long seconds) {
    now += TimeUnit.SECONDS.toNanos(seconds);
  }

  void advanceMillis(long millis) {
    now += TimeUnit.MILLISECONDS.toNanos(millis);
  }

  Host host(String id) {
    return host(Host.newBuilder().setId(id));
  }

  Host seedHost(String id) {
    return host(Host.newBuilder().setId(id).setType(HostType.HOST_TYPE_SEED));
  }

  Host host(Host.Builder builder) {
    hosts++;
    Host host = builder.setIp("10.0." + hosts / 250 + "." + hosts % 250).setUploadLimit(200).build();
    scheduler.announceHost(host, null);
    return host;
  }

  void load(Host host, int uploadsInUse) {
    scheduler.announceHost(host, HostLoad.newBuilder().setUploadSlotsInUse(uploadsInUse).build());
  }

  RecordingStream register(String peerId, Host host) {
    return register(TASK, peerId, host);
  }

  RecordingStream register(String taskId, String peerId, Host host) {
    return register(taskId, peerId, host, RegisterPeer.newBuilder().setDownload(DOWNLOAD).build());
  }

  RecordingStream register(String taskId, String peerId, Host host, RegisterPeer registration) {
    RecordingStream stream = new RecordingStream();
    scheduler.register(taskId, peerId, scheduler.host(host.getId()), registration, stream);
    return stream;
  }

  /** The peer got pieces {@code first..last} from {@code parentId} (empty: the origin), each in {@code costMillis}. */
  void pieces(String peerId, String parentId, int first, int last, long costMillis) {
    for (int n = first; n <= last; n++) {
      scheduler.pieceFinished(TASK, peerId, PieceFinished.newBuilder()
          .setPiece(Piece.newBuilder().setNumber(n).setOffset(n * PIECE).setLength(PIECE))
          .setParentId(parentId)
          .setCostNanos(TimeUnit.MILLISECONDS.toNanos(costMillis))
          .build());
    }
  }

  void finished(String peerId, long contentLength, int pieceCount) {
    scheduler.peerFinished(TASK, peerId, PeerFinished.newBuilder()
        .setContentLength(contentLength).setPieceCount(pieceCount).build());
  }

  double counter(String name) {
    var counter = registry.find(name).counter();
    return counter == null ? 0 : counter.count();
  }

  double counter(String name, String tag, String value) {
    var counter = registry.find(name).tag(tag, value).counter();
    return counter == null ? 0 : counter.count();
  }
}
