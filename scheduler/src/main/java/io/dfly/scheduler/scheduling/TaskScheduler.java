package io.dfly.scheduler.scheduling;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.CandidateParent;
import io.dfly.api.scheduler.v1.EmptyTask;
import io.dfly.api.scheduler.v1.NeedBackToSource;
import io.dfly.api.scheduler.v1.NormalTask;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.api.scheduler.v1.TaskFailed;
import io.dfly.api.scheduler.v1.TaskStat;
import io.dfly.api.scheduler.v1.TinyTask;
import io.dfly.common.digest.Digests;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.metrics.SchedulerMetrics;
import io.dfly.scheduler.resource.Hosts;
import io.dfly.scheduler.resource.KnownHost;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.PeerState;
import io.dfly.scheduler.resource.Task;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduler's decisions. A task's size decides how a new peer is served: an empty or tiny
 * task is answered directly, a single-piece task gets its one best parent, larger tasks get the
 * best few parents ({@link ParentEvaluator}), evaluated again every round so that better parents
 * replace worse ones. For a new task one seed peer, chosen by rendezvous hashing, fetches it from
 * the origin, offered as a parent from the moment it is triggered; peers go back to source
 * themselves only when no seed peer and no parent can serve, or after several rounds without a
 * parent, a few per task at a time. Parents that fail, corrupt
 * or serve far slower than their peers are blocked for the task and their hosts penalised.
 * Every method holds the task's lock, so each decision sees one consistent picture of the task.
 */
public final class TaskScheduler {
  private static final Logger log = LoggerFactory.getLogger(TaskScheduler.class);

  private final SchedulerConfig config;
  private final Hosts hosts;
  private final ParentEvaluator evaluator;
  private final PieceCostJudge costJudge;
  private final SlowParents slowParents;
  private final SeedTrigger seedTrigger;
  private final SchedulerMetrics metrics;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Task> tasks = new ConcurrentHashMap<>();
  private final long startedAtNanos;

  /**
   * @param clock nanoseconds, like {@link System#nanoTime}; tests move it to age hosts and peers
   */
  public TaskScheduler(SchedulerConfig config, SeedTrigger seedTrigger, SchedulerMetrics metrics, LongSupplier clock) {
    this.config = config.validate();
    this.hosts = new Hosts(TimeUnit.SECONDS.toNanos(config.badParents.hostPenaltyHalfLifeSeconds));
    this.evaluator = new ParentEvaluator(config);
    this.costJudge = new PieceCostJudge(config.badParents);
    this.slowParents = new SlowParents(config);
    this.seedTrigger = seedTrigger;
    this.metrics = metrics;
    this.clock = clock;
    this.startedAtNanos = clock.getAsLong();
    metrics.gauge("dfly.scheduler.hosts", "Hosts known", hosts::size);
    metrics.gauge("dfly.scheduler.tasks", "Tasks known", tasks::size);
    metrics.gauge("dfly.scheduler.hosts.excluded", "Hosts penalised past the limit: they get no children",
        () -> hosts.all().stream()
            .filter(h -> h.penalty(clock.getAsLong()) >= config.badParents.hostPenaltyLimit).count());
  }

  // ---- hosts -----------------------------------------------------------------------------

  /**
   * Records a host's announcement, with its load or null; true when the host was unknown (new,
   * or this scheduler restarted).
   */
  public boolean announceHost(Host host, HostLoad load) {
    Hosts.Announced announced = hosts.announce(host, load, clock.getAsLong());
    if (announced.isNew()) {
      log.info("host {} announced: {} ({})", host.getId(), host.getIp(), host.getType());
      if (announced.host().isSeed()) {
        seedTrigger.prepare(host);
      }
    }
    return announced.isNew();
  }

  public KnownHost host(String hostId) {
    return hosts.get(hostId);
  }

  public Hosts hosts() {
    return hosts;
  }

  public void leaveHost(String hostId) {
    forgetHosts(Set.of(hostId), "left");
  }

  /** Removes hosts and every peer on them; the peers' children get new parents. */
  private void forgetHosts(Set<String> hostIds, String why) {
    for (String hostId : hostIds) {
      if (hosts.remove(hostId) != null) {
        log.info("host {} {}", hostId, why);
      }
    }
    for (Task task : tasks.values()) {
      synchronized (task) {
        for (Peer peer : List.copyOf(task.peers())) {
          if (hostIds.contains(peer.host().id())) {
            peerGone(task, peer, PeerState.LEFT);
          }
        }
      }
    }
  }

  // ---- peer events -----------------------------------------------------------------------

  /**
   * A peer registers, possibly with pieces it holds already or fetching from the origin already
   * (it registers again after its scheduler died, or resumes after a restart); the same peer id
   * on a new stream replaces the old one, keeping its pieces. A seed peer registering under the
   * id its trigger gave it takes over the peer announced then, children and all. A seed host
   * holds one copy of a task, so a seed peer under any other id replaces its host's other peers
   * of the task (its host was fetching the task already when it was triggered, say).
   */
  public Peer register(String taskId, String peerId, KnownHost host, RegisterPeer registration,
      StreamObserver<AnnouncePeerResponse> stream) {
    Task task = tasks.computeIfAbsent(taskId, Task::new);
    synchronized (task) {
      if (tasks.get(taskId) != task) { // emptied and dropped by tick() meanwhile
        return register(taskId, peerId, host, registration, stream);
      }
      if (task.download() == null) {
        task.setDownload(registration.getDownload());
      }
      Peer known = task.peer(peerId);
      boolean takesOver = known != null && !known.isRegistered() && known.host() == host;
      Peer peer = takesOver ? known : new Peer(peerId, host, stream, clock.getAsLong());
      Peer old = takesOver ? null : known;
      List<Peer> replaced = host.isSeed() ? otherPeersOf(task, host, peerId) : List.of();
      if (takesOver) {
        peer.attach(stream);
        peer.reported(clock.getAsLong());
      }
      for (int piece : registration.getFinishedPiecesList()) {
        task.addPiece(peer, piece);
      }
      if (old != null) { // its old stream is dead
        old.pieces().forEach(piece -> task.addPiece(peer, piece));
        old.setState(PeerState.LEFT);
      }
      replaced.forEach(other -> other.setState(PeerState.LEFT));
      if (old != null || !peer.pieces().isEmpty()) {
        peer.setRejoined();
      }
      if (!takesOver) {
        task.addPeer(peer);
      }
      if (peer.rejoined()) { // after a failover or restart: rare, and worth seeing
        log.info("task {}: peer {} registered again from {} with {} pieces", shortId(taskId), peerId,
            host.host().getIp(), peer.pieces().count());
      } else if (log.isDebugEnabled()) {
        log.debug("task {}: peer {} registered from {}{}", shortId(taskId), peerId, host.host().getIp(),
            peer.isSeed() ? " (seed peer)" : "");
      }
      if (!replaced.isEmpty()) {
        log.info("task {}: seed peer {} replaces {} of its host", shortId(taskId), peerId, replaced);
      }
      if (registration.getBackToSource()) {
        peer.setState(PeerState.BACK_TO_SOURCE);
      } else if (peer.isSeed()) {
        backToSource(task, peer, "seed peer fetches from the origin", "seed");
      } else {
        schedule(task, peer);
      }
      if (old != null) {
        unlink(task, old); // its children move on, to the new self among others
      }
      // Not peerGone: that would take the seed host for gone and trigger it again.
      replaced.forEach(other -> unlink(task, other));
      if (peer.isSeed() || !peer.pieces().isEmpty() || peer.state() == PeerState.BACK_TO_SOURCE) {
        rescheduleWaiting(task);
      }
      return peer;
    }
  }

  /** The task's peers on seed host {@code host} other than {@code peerId}. */
  private static List<Peer> otherPeersOf(Task task, KnownHost host, String peerId) {
    List<Peer> others = new ArrayList<>(0);
    for (Peer seed : task.seedPeers()) {
      if (seed.host() == host && !seed.id().equals(peerId)) {
        others.add(seed);
      }
    }
    return others;
  }

  public void pieceFinished(String taskId, String peerId, PieceFinished report) {
    withPeer(taskId, peerId, (task, peer) -> pieceFinished(task, peer, report, null));
  }

  /** The hot path of piece reports: the stream holds its peer, so no lookup by id. */
  public void pieceFinished(Peer peer, PieceFinished report) {
    Task task = peer.task();
    synchronized (task) {
      if (!peer.isRemoved()) {
        pieceFinished(task, peer, report, null);
      }
    }
  }

  /** Several reports of one peer under one hold of the task's lock. */
  public void piecesFinished(Peer peer, List<PieceFinished> reports) {
    Task task = peer.task();
    synchronized (task) {
      Peer lastParent = null;
      for (int i = 0; i < reports.size() && !peer.isRemoved(); i++) {
        lastParent = pieceFinished(task, peer, reports.get(i), lastParent);
      }
    }
  }

  /**
   * Records one finished piece; returns the parent it came from, which the next report of a batch
   * usually names again ({@code lastParent}), saving a lookup by id.
   */
  private Peer pieceFinished(Task task, Peer peer, PieceFinished report, Peer lastParent) {
    long now = clock.getAsLong();
    peer.reported(now);
    Piece piece = report.getPiece();
    if (piece.getNumber() == 0) {
      task.setFirstPiece(piece);
    }
    boolean first = peer.pieces().isEmpty();
    task.addPiece(peer, piece.getNumber());
    String parentId = report.getParentId();
    Peer parent = parentId.isEmpty() ? null
        : lastParent != null && !lastParent.isRemoved() && lastParent.id().equals(parentId) ? lastParent
        : task.peer(parentId);
    if (parent != null) {
      parent.reported(now);
      parent.host().countUpload(true);
      PieceCostJudge.Verdict verdict = costJudge.record(peer, parent, now, report.getCostNanos(), piece.getLength());
      if (verdict != null) {
        block(task, parent, verdict.kind(), verdict.reason());
      }
      if (report.getCostNanos() > 0) {
        parent.uplinkMeter().add(now, report.getCostNanos(), piece.getLength());
      }
    }
    if (first) {
      rescheduleWaiting(task); // the peer can serve now
    }
    return parent;
  }

  /**
   * A child's piece from a parent failed. A corrupt piece or a stall (a parent that hangs does not
   * recover within a download) blocks the parent for the task at once; other failures count.
   */
  public void pieceFailed(String taskId, String peerId, String parentId, boolean corrupt, boolean stalled) {
    withPeer(taskId, peerId, (task, peer) -> {
      peer.reported(clock.getAsLong());
      Peer parent = task.peer(parentId);
      if (parent == null) {
        return;
      }
      parent.host().countUpload(false);
      int failures = parent.countServedFailure();
      if (corrupt) {
        block(task, parent, "corrupt", "it served a corrupt piece to " + peerId);
      } else if (stalled) {
        block(task, parent, "stalled", "it sent no byte of a piece to " + peerId + " for the piece timeout");
      } else if (failures >= config.badParents.failureLimit) {
        block(task, parent, "failures", failures + " pieces it served failed");
      }
    });
  }

  public void backToSourceStarted(String taskId, String peerId) {
    withPeer(taskId, peerId, (task, peer) -> {
      peer.reported(clock.getAsLong());
      peer.setParents(List.of());
      peer.setState(PeerState.BACK_TO_SOURCE);
      rescheduleWaiting(task);
    });
  }

  public void peerFinished(String taskId, String peerId, PeerFinished report) {
    withPeer(taskId, peerId, (task, peer) -> {
      peer.reported(clock.getAsLong());
      peer.setState(PeerState.SUCCEEDED);
      peer.setParents(List.of());
      task.setContent(report.getContentLength(), report.getPieceCount());
      if (report.getContentLength() > 0 && report.getContentLength() <= Task.TINY_LIMIT
          && report.getContent().size() == report.getContentLength() && task.firstPiece() != null) {
        task.setTinyContent(report.getContent());
      }
      log.debug("task {}: peer {} succeeded ({} bytes)", shortId(taskId), peerId, report.getContentLength());
      rescheduleWaiting(task);
    });
  }

  public void peerFailed(String taskId, String peerId, String reason, boolean sourceError) {
    withPeer(taskId, peerId, (task, peer) -> {
      log.info("task {}: peer {} failed{}: {}", shortId(taskId), peerId, sourceError ? " at the origin" : "", reason);
      if (sourceError) {
        failTask(task, peer, reason);
      } else {
        peerGone(task, peer, PeerState.FAILED);
      }
    });
  }

  /** The peer's stream ended; a finished peer stays a parent, any other has left. */
  public void streamEnded(String taskId, String peerId, StreamObserver<AnnouncePeerResponse> stream) {
    withPeer(taskId, peerId, (task, peer) -> {
      if (!peer.usesStream(stream)) {
        return; // an older stream of a peer that registered again
      }
      peer.streamClosedByPeer();
      if (peer.state().isActive()) {
        log.info("task {}: peer {} left before finishing", shortId(taskId), peerId);
        peerGone(task, peer, PeerState.LEFT);
      }
    });
  }

  public void leavePeer(String taskId, String peerId) {
    withPeer(taskId, peerId, (task, peer) -> peerGone(task, peer, PeerState.LEFT));
  }

  /**
   * Periodic pass: forgets hosts and peers that stopped reporting; waiting peers try again (and
   * go back to source after too many rounds), running peers' parents are evaluated again.
   */
  public void tick() {
    long now = clock.getAsLong();
    Set<String> silent = new HashSet<>();
    for (KnownHost host : hosts.all()) {
      if (now - host.announcedAtNanos() > TimeUnit.SECONDS.toNanos(config.gc.hostTtlSeconds)) {
        silent.add(host.id());
      }
    }
    if (!silent.isEmpty()) {
      forgetHosts(silent, "forgotten: no announcement for " + config.gc.hostTtlSeconds + " s");
    }
    for (Task task : tasks.values()) {
      List<Peer> peers;
      synchronized (task) {
        collectPeers(task, now);
        reviewSlowParents(task);
        peers = List.copyOf(task.peers());
      }
      // One decision per lock, so that registrations and reports of a large task get in between.
      for (Peer peer : peers) {
        synchronized (task) {
          if (peer.isRemoved()) {
            continue;
          }
          if (peer.state() == PeerState.PENDING || peer.state() == PeerState.RUNNING) {
            schedule(task, peer);
          }
          if (peer.state() == PeerState.PENDING && !peer.isRemoved()) {
            int rounds = peer.countFailedRound();
            if (rounds >= config.backToSourceAfterRounds) {
              tryBackToSource(task, peer, "no parent in " + rounds + " rounds", "rounds");
            }
          }
          // A triggered seed peer that does not register is stuck, or registered with another
          // scheduler: its children must not wait on it longer than a peer waits for a parent.
          if (!peer.isRegistered() && peer.countFailedRound() >= config.backToSourceAfterRounds) {
            log.info("task {}: seed peer {} did not register within {} rounds of its trigger", shortId(task.id()),
                peer.id(), config.backToSourceAfterRounds);
            peerGone(task, peer, PeerState.FAILED);
          }
        }
      }
      synchronized (task) {
        if (task.peers().isEmpty()) {
          tasks.remove(task.id(), task);
        }
      }
    }
  }

  private void collectPeers(Task task, long now) {
    for (Peer peer : List.copyOf(task.peers())) {
      long silence = now - peer.lastReportNanos();
      if (peer.state().isActive() && silence > TimeUnit.SECONDS.toNanos(config.gc.peerIdleSeconds)) {
        log.info("task {}: peer {} reported nothing for {} s: failed", shortId(task.id()), peer.id(),
            TimeUnit.NANOSECONDS.toSeconds(silence));
        peer.send(AnnouncePeerResponse.newBuilder().setTaskFailed(TaskFailed.newBuilder()
            .setReason("the scheduler heard nothing from this peer for " + config.gc.peerIdleSeconds + " s")).build());
        peer.closeStream();
        peerGone(task, peer, PeerState.FAILED);
      } else if (peer.state() == PeerState.SUCCEEDED
          && silence > TimeUnit.SECONDS.toNanos(config.gc.finishedPeerTtlSeconds)) {
        log.info("task {}: finished peer {} unused for {} s: forgotten", shortId(task.id()), peer.id(),
            TimeUnit.NANOSECONDS.toSeconds(silence));
        peerGone(task, peer, PeerState.LEFT);
      }
    }
  }

  /** Parents that deliver far less than the task's others get few children ({@link SlowParents}). */
  private void reviewSlowParents(Task task) {
    for (Peer slow : slowParents.review(task)) {
      log.info("task {}: parent {} on host {} is slow: it delivers {} MB/s while busy ({} pieces in flight on"
          + " average), under {} of the task's median parent; it keeps at most {} children", shortId(task.id()),
          slow.id(), slow.host().id(), String.format("%.1f", slow.uplinkMeter().bytesPerSecond() / 1e6),
          String.format("%.1f", slow.uplinkMeter().concurrency()), config.badParents.slowParentShare,
          slow.childCapacity());
      metrics.slowParent();
    }
  }

  public Optional<TaskStat> stat(String taskId) {
    Task task = tasks.get(taskId);
    if (task == null) {
      return Optional.empty();
    }
    synchronized (task) {
      return Optional.of(TaskStat.newBuilder()
          .setTaskId(taskId)
          .setState(task.state())
          .setContentLength(task.contentLength())
          .setPieceCount(task.pieceCount())
          .setPeerCount(task.peerCount())
          .build());
    }
  }

  // ---- decisions -------------------------------------------------------------------------

  /** Decides for a pending or running peer, and records what it came to and how long it took. */
  private void schedule(Task task, Peer peer) {
    if (peer.state() != PeerState.PENDING && peer.state() != PeerState.RUNNING) {
      return;
    }
    long start = System.nanoTime();
    String outcome = decide(task, peer);
    metrics.decision(outcome, System.nanoTime() - start);
  }

  private String decide(Task task, Peer peer) {
    if (task.contentLength() == 0) {
      answerDirectly(task, peer, AnnouncePeerResponse.newBuilder().setEmptyTask(EmptyTask.getDefaultInstance()));
      return "direct";
    }
    if (task.tinyContent() != null) {
      answerDirectly(task, peer, AnnouncePeerResponse.newBuilder()
          .setTinyTask(TinyTask.newBuilder().setContent(task.tinyContent()).setPiece(task.firstPiece())));
      return "direct";
    }
    List<Peer> chosen = evaluator.select(task, peer, clock.getAsLong());
    if (task.pieceCount() == 1 && !chosen.isEmpty()) {
      // One piece: its one best holder serves it whole; a fetching parent would only make it wait.
      chosen = chosen.stream().filter(p -> p.pieces().contains(0)).limit(1).toList();
    }
    if (!chosen.isEmpty()) {
      peer.resetFailedRounds();
      if (peer.state() != PeerState.RUNNING || !sameSet(chosen, peer.parents())) {
        peer.setParents(chosen);
        peer.setState(PeerState.RUNNING);
        sendParents(task, peer);
      }
      return "parents";
    }
    boolean hadParents = !peer.parents().isEmpty();
    peer.setParents(List.of());
    peer.setState(PeerState.PENDING);
    if (hadParents) {
      sendParents(task, peer); // an empty set: stop using the old ones
    }
    return arrangeSource(task, peer);
  }

  private static boolean sameSet(List<Peer> chosen, Set<Peer> current) {
    return chosen.size() == current.size() && current.containsAll(chosen);
  }

  /** Empty and tiny tasks: the answer holds the content, the peer needs no parent. */
  private void answerDirectly(Task task, Peer peer, AnnouncePeerResponse.Builder answer) {
    peer.setParents(List.of());
    peer.setState(PeerState.SUCCEEDED);
    log.info("task {}: peer {} answered directly ({} bytes)", shortId(task.id()), peer.id(), task.contentLength());
    peer.send(answer.build());
  }

  /**
   * Nobody can serve this peer: have the task's seed peer fetch it, or, with no seed peer able
   * to, send the peer to the origin if the task's back-to-source limit allows. Returns the outcome.
   */
  private String arrangeSource(Task task, Peer waiting) {
    if (seedOnItsWay(task)) {
      return "pending"; // its seed peer cannot take this one now (its host is busy, say)
    }
    Optional<KnownHost> seed = task.isImported() ? Optional.empty() : chooseSeed(task);
    if (seed.isPresent()) {
      // The seed peer is in the task from its trigger on and serves this peer at once, unless the
      // trigger failed on the spot (and the waiting peers, this one too, were scheduled again).
      return triggerSeed(task, seed.get()).isRemoved() ? "pending" : decide(task, waiting);
    }
    if (seed.isEmpty() && hosts.seeds().isEmpty()
        && clock.getAsLong() - startedAtNanos < TimeUnit.SECONDS.toNanos(config.seedGraceSeconds)) {
      return "pending"; // just started: seed hosts may not have announced again yet
    }
    if (waiting.rejoined()) {
      // Registering again after a scheduler failover, as the task's other peers are: they may
      // serve it in a moment; the rounds rule sends it to the origin if they do not.
      return "pending";
    }
    return tryBackToSource(task, waiting, "no seed peer and no parent", "no_parent") ? "back_to_source" : "pending";
  }

  /** The task's seed host was asked, is still announced, and neither failed nor is blocked. */
  private boolean seedOnItsWay(Task task) {
    String seedHostId = task.seedHostId();
    if (seedHostId == null) {
      return false;
    }
    if (hosts.get(seedHostId) == null) {
      seedFailed(task, seedHostId);
      return false;
    }
    return true;
  }

  /** The task's seed host by rendezvous hashing over live seed hosts not failed for it. */
  private Optional<KnownHost> chooseSeed(Task task) {
    return hosts.seeds().stream()
        .filter(h -> !task.failedSeeds().contains(h.id()))
        .max(Comparator.comparing(h -> Digests.sha256Hex(
            (h.id() + "/" + task.id()).getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * Asks a seed host to fetch the task, and adds its seed peer to the task at once, under an id
   * chosen here that the trigger carries: fetching from the origin (so it counts toward the
   * back-to-source limit) and offered as a parent before it registers, which saves waiting peers
   * the two round trips through the seed host. Returns that peer.
   */
  private Peer triggerSeed(Task task, KnownHost seed) {
    task.setSeedHostId(seed.id());
    Peer announced = Peer.announced(seed.id() + "-" + UUID.randomUUID(), seed, clock.getAsLong());
    announced.setState(PeerState.BACK_TO_SOURCE);
    task.addPeer(announced);
    log.info("task {}: seed peer {} triggered on {}", shortId(task.id()), announced.id(), seed.id());
    seedTrigger.trigger(seed.host(), task.id(), announced.id(), task.download()).whenComplete((ok, error) -> {
      if (error != null) {
        synchronized (task) {
          if (!announced.isRemoved() && !announced.isRegistered()) { // else it registered, or is dealt with
            log.warn("task {}: seed peer {} could not be triggered: {}", shortId(task.id()), seed.id(),
                error.getMessage());
            seedFailed(task, seed.id());
            peerGone(task, announced, PeerState.FAILED); // its children get new parents
          }
        }
      }
    });
    return announced;
  }

  /** The seed host cannot serve the task: the next one by hashing (or the origin) takes over. */
  private void seedFailed(Task task, String seedHostId) {
    task.failedSeeds().add(seedHostId);
    if (seedHostId.equals(task.seedHostId())) {
      task.setSeedHostId(null);
      log.info("task {}: seed peer {} replaced", shortId(task.id()), seedHostId);
    }
  }

  private boolean tryBackToSource(Task task, Peer peer, String reason, String metricReason) {
    if (task.count(PeerState.BACK_TO_SOURCE) >= config.backToSourceLimit) {
      return false;
    }
    backToSource(task, peer, reason, metricReason);
    return true;
  }

  private void backToSource(Task task, Peer peer, String reason, String metricReason) {
    peer.setState(PeerState.BACK_TO_SOURCE);
    peer.setParents(List.of());
    peer.resetFailedRounds();
    log.info("task {}: peer {} back to source ({})", shortId(task.id()), peer.id(), reason);
    metrics.backToSource(metricReason);
    peer.send(AnnouncePeerResponse.newBuilder()
        .setNeedBackToSource(NeedBackToSource.newBuilder().setReason(reason)).build());
  }

  private void sendParents(Task task, Peer peer) {
    NormalTask.Builder parents = NormalTask.newBuilder();
    for (Peer parent : peer.parents()) {
      parents.addCandidateParents(CandidateParent.newBuilder().setPeerId(parent.id()).setHost(parent.host().host()));
    }
    if (log.isDebugEnabled()) {
      log.debug("task {}: peer {} parents {}", shortId(task.id()), peer.id(), peer.parents());
    }
    peer.send(AnnouncePeerResponse.newBuilder().setNormalTask(parents).build());
  }

  /** Peers waiting for a parent try again (running peers get more at the next round). */
  private void rescheduleWaiting(Task task) {
    List<Peer> waiting = new ArrayList<>();
    for (int i = 0; i < task.peerCount(); i++) {
      if (task.peerAt(i).state() == PeerState.PENDING) {
        waiting.add(task.peerAt(i));
      }
    }
    for (Peer peer : waiting) {
      schedule(task, peer);
    }
  }

  /**
   * A parent misbehaved: no peer of the task gets it again, its children get new parents, and
   * its host's penalty grows. A blocked seed peer is replaced like a dead one.
   */
  private void block(Task task, Peer parent, String kind, String reason) {
    if (!task.block(parent.id(), reason)) {
      return;
    }
    double penalty = parent.host().penalise(clock.getAsLong());
    log.warn("task {}: parent {} on host {} blocked: {}; host penalty now {}", shortId(task.id()), parent.id(),
        parent.host().id(), reason, String.format("%.2f", penalty));
    metrics.parentBlocked(kind);
    metrics.hostPenalised();
    if (parent.isSeed()) {
      seedFailed(task, parent.host().id());
    }
    for (Peer child : List.copyOf(parent.children())) {
      schedule(task, child);
    }
  }

  /**
   * The origin failed for the peer fetching it: peers with nothing yet fail with the same
   * reason rather than all trying the failing origin; the task starts afresh on the next
   * registration.
   */
  private void failTask(Task task, Peer failing, String reason) {
    failing.setState(PeerState.FAILED);
    if (failing.isSeed()) {
      task.setSeedHostId(null);
    }
    for (Peer peer : List.copyOf(task.peers())) {
      if (peer != failing && peer.state().isActive() && peer.state() != PeerState.BACK_TO_SOURCE
          && peer.pieces().isEmpty()) {
        peer.setState(PeerState.FAILED);
        peer.send(AnnouncePeerResponse.newBuilder()
            .setTaskFailed(TaskFailed.newBuilder().setReason(reason)).build());
        peer.closeStream();
      }
    }
    for (Peer peer : List.copyOf(task.peers())) {
      if (peer.state() == PeerState.FAILED) {
        unlink(task, peer);
      }
    }
    task.failedSeeds().clear();
    rescheduleWaiting(task);
    log.info("task {} failed at the origin: {}", shortId(task.id()), reason);
  }

  private void peerGone(Task task, Peer peer, PeerState state) {
    boolean wasFetching = peer.state().isActive();
    peer.setState(state);
    if (peer.isSeed() && peer.host().id().equals(task.seedHostId())) {
      if (state == PeerState.LEFT && wasFetching && hosts.get(peer.host().id()) == peer.host()) {
        seedLeft(task, peer.host());
      } else {
        seedFailed(task, peer.host().id());
      }
    }
    unlink(task, peer);
    rescheduleWaiting(task);
  }

  /**
   * The seed peer's stream ended mid-download while its host still announces itself: most likely
   * its download moved to another scheduler (one died or came back), where it goes on and where
   * the task's other peers follow within moments. Replacing it would leave those peers with no
   * source here but the origin, so the same seed host is asked again, and the seed peer that
   * trigger adds serves them meanwhile from what the host holds: a live host takes the trigger
   * (and registers here again if it had dropped the task), a dead one fails it and is replaced then.
   */
  private void seedLeft(Task task, KnownHost seed) {
    log.info("task {}: seed peer {} left mid-download; asked again", shortId(task.id()), seed.id());
    triggerSeed(task, seed);
  }

  /** Removes a peer from its task; its children get new parents. */
  private void unlink(Task task, Peer gone) {
    List<Peer> orphans = List.copyOf(gone.children());
    gone.detach();
    task.removePeer(gone);
    for (Peer orphan : orphans) {
      schedule(task, orphan);
      if (orphan.parents().contains(gone)) { // not scheduled (it fetches from the origin, say)
        orphan.setParents(orphan.parents().stream().filter(p -> p != gone).toList());
      }
    }
  }

  // ---- plumbing --------------------------------------------------------------------------

  private interface PeerAction {
    void apply(Task task, Peer peer);
  }

  private void withPeer(String taskId, String peerId, PeerAction action) {
    Task task = tasks.get(taskId);
    if (task == null) {
      return;
    }
    synchronized (task) {
      Peer peer = task.peer(peerId);
      if (peer != null) {
        action.apply(task, peer);
      }
    }
  }

  private static String shortId(String taskId) {
    return taskId.length() > 12 ? taskId.substring(0, 12) : taskId;
  }
}
