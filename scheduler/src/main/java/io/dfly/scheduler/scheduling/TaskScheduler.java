package io.dfly.scheduler.scheduling;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.CandidateParent;
import io.dfly.api.scheduler.v1.NeedBackToSource;
import io.dfly.api.scheduler.v1.NormalTask;
import io.dfly.api.scheduler.v1.TaskFailed;
import io.dfly.api.scheduler.v1.TaskStat;
import io.dfly.common.digest.Digests;
import io.dfly.scheduler.resource.Hosts;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.PeerState;
import io.dfly.scheduler.resource.Task;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduler's decisions. For a new task one seed peer is told to fetch it from the origin,
 * and later peers get the seed peer and then each other as parents; with no seed peer the first
 * peer goes back to source. Every method holds the task's lock, so each decision sees one
 * consistent picture of the task.
 */
public final class TaskScheduler {
  private static final Logger log = LoggerFactory.getLogger(TaskScheduler.class);
  private static final int PARENT_FAILURE_LIMIT = 3;

  private final Hosts hosts;
  private final ParentSelector selector;
  private final SeedTrigger seedTrigger;
  private final int backToSourceLimit;
  private final long pendingTimeoutNanos;
  private final ConcurrentHashMap<String, Task> tasks = new ConcurrentHashMap<>();
  /** Seed hosts that failed a task, so another seed (or the origin) is tried next. */
  private final ConcurrentHashMap<String, Set<String>> failedSeeds = new ConcurrentHashMap<>();

  public TaskScheduler(Hosts hosts, ParentSelector selector, SeedTrigger seedTrigger,
      int backToSourceLimit, long pendingTimeoutMillis) {
    this.hosts = hosts;
    this.selector = selector;
    this.seedTrigger = seedTrigger;
    this.backToSourceLimit = backToSourceLimit;
    this.pendingTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(pendingTimeoutMillis);
  }

  public Hosts hosts() {
    return hosts;
  }

  // ---- peer events -----------------------------------------------------------------------

  public void register(String taskId, String peerId, Host host, Download download,
      StreamObserver<AnnouncePeerResponse> stream) {
    Task task = tasks.computeIfAbsent(taskId, Task::new);
    synchronized (task) {
      if (task.download() == null) {
        task.setDownload(download);
      }
      Peer peer = new Peer(peerId, host, stream);
      task.addPeer(peer);
      log.info("task {}: peer {} registered from {}{}", shortId(taskId), peerId, host.getIp(),
          peer.isSeed() ? " (seed peer)" : "");
      if (peer.isSeed()) {
        backToSource(task, peer, "seed peer fetches from the origin");
        rescheduleWaiting(task);
      } else {
        schedule(task, peer);
      }
    }
  }

  public void pieceFinished(String taskId, String peerId, int number) {
    withPeer(taskId, peerId, (task, peer) -> {
      if (peer.finishPiece(number)) {
        rescheduleWaiting(task);
      }
    });
  }

  public void pieceFailed(String taskId, String peerId, String parentId, boolean corrupt) {
    withPeer(taskId, peerId, (task, peer) -> {
      int failures = peer.countFailure(parentId);
      if (corrupt || failures >= PARENT_FAILURE_LIMIT) {
        log.info("task {}: parent {} blocked for {} ({})", shortId(taskId), parentId, peerId,
            corrupt ? "corrupt piece" : failures + " failed pieces");
        peer.block(parentId);
        schedule(task, peer);
      }
    });
  }

  public void backToSourceStarted(String taskId, String peerId) {
    withPeer(taskId, peerId, (task, peer) -> {
      peer.setState(PeerState.BACK_TO_SOURCE);
      rescheduleWaiting(task);
    });
  }

  public void peerFinished(String taskId, String peerId, long contentLength, int pieceCount) {
    withPeer(taskId, peerId, (task, peer) -> {
      peer.setState(PeerState.SUCCEEDED);
      task.setContent(contentLength, pieceCount);
      log.info("task {}: peer {} succeeded ({} bytes)", shortId(taskId), peerId, contentLength);
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
  public void streamEnded(String taskId, String peerId) {
    withPeer(taskId, peerId, (task, peer) -> {
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

  public void leaveHost(String hostId) {
    hosts.remove(hostId);
    for (Task task : tasks.values()) {
      synchronized (task) {
        for (Peer peer : List.copyOf(task.peers())) {
          if (peer.host().getId().equals(hostId)) {
            peerGone(task, peer, PeerState.LEFT);
          }
        }
      }
    }
    log.info("host {} left", hostId);
  }

  /** Periodic pass: gives waiting peers parents and growing peers more parents. */
  public void tick() {
    for (Task task : tasks.values()) {
      synchronized (task) {
        long now = System.nanoTime();
        for (Peer peer : List.copyOf(task.peers())) {
          if (peer.state() == PeerState.PENDING && now - peer.registeredAtNanos() > pendingTimeoutNanos) {
            backToSource(task, peer, "no parent within the pending timeout");
          } else if (peer.state() == PeerState.PENDING
              || peer.state() == PeerState.RUNNING && peer.parents().size() < selector.limit()) {
            schedule(task, peer);
          }
        }
        if (task.peers().isEmpty()) {
          tasks.remove(task.id(), task);
        }
      }
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
          .setPeerCount(task.peers().size())
          .build());
    }
  }

  // ---- decisions -------------------------------------------------------------------------

  /** Gives a pending or running peer its best parents, or arranges for a source of the content. */
  private void schedule(Task task, Peer peer) {
    if (peer.state() != PeerState.PENDING && peer.state() != PeerState.RUNNING) {
      return;
    }
    List<String> chosen = selector.select(task, peer);
    if (!chosen.isEmpty()) {
      if (peer.state() != PeerState.RUNNING || !chosen.equals(new ArrayList<>(peer.parents()))) {
        peer.parents().clear();
        peer.parents().addAll(chosen);
        peer.setState(PeerState.RUNNING);
        sendParents(task, peer);
      }
      return;
    }
    boolean hadParents = !peer.parents().isEmpty();
    peer.parents().clear();
    peer.setState(PeerState.PENDING);
    if (hadParents) {
      sendParents(task, peer); // an empty set: stop using the old ones
    }
    arrangeSource(task, peer);
  }

  /** Nobody can serve this peer: have a seed peer fetch the task, or send a peer to the origin. */
  private void arrangeSource(Task task, Peer waiting) {
    if (task.seedHostId() != null && hosts.get(task.seedHostId()) != null) {
      return; // the seed peer is on its way; it will be offered when it registers
    }
    // Imported files (cid://) exist only on the peers that have them: no seed peer can fetch one.
    boolean imported = task.download() != null && task.download().getUrl().startsWith("cid://");
    Optional<Host> seed = imported ? Optional.empty() : chooseSeed(task);
    if (seed.isPresent()) {
      triggerSeed(task, seed.get());
      return;
    }
    if (task.count(PeerState.BACK_TO_SOURCE) < backToSourceLimit) {
      backToSource(task, waiting, "no seed peer and no parent");
    }
  }

  /** The task's seed host by rendezvous hashing over live seed hosts not failed for it. */
  private Optional<Host> chooseSeed(Task task) {
    Set<String> failed = failedSeeds.getOrDefault(task.id(), Set.of());
    return hosts.seeds().stream()
        .filter(h -> !failed.contains(h.getId()))
        .max(Comparator.comparing(h -> Digests.sha256Hex(
            (h.getId() + "/" + task.id()).getBytes(StandardCharsets.UTF_8))));
  }

  private void triggerSeed(Task task, Host seed) {
    task.setSeedHostId(seed.getId());
    log.info("task {}: seed peer {} triggered", shortId(task.id()), seed.getId());
    seedTrigger.trigger(seed, task.id(), task.download()).whenComplete((ok, error) -> {
      if (error != null) {
        synchronized (task) {
          log.warn("task {}: seed peer {} could not be triggered: {}", shortId(task.id()), seed.getId(),
              error.getMessage());
          seedFailed(task, seed.getId());
        }
      }
    });
  }

  private void seedFailed(Task task, String seedHostId) {
    failedSeeds.computeIfAbsent(task.id(), id -> ConcurrentHashMap.newKeySet()).add(seedHostId);
    if (seedHostId.equals(task.seedHostId())) {
      task.setSeedHostId(null);
    }
    rescheduleWaiting(task);
  }

  private void backToSource(Task task, Peer peer, String reason) {
    peer.setState(PeerState.BACK_TO_SOURCE);
    peer.parents().clear();
    log.info("task {}: peer {} back to source ({})", shortId(task.id()), peer.id(), reason);
    peer.send(AnnouncePeerResponse.newBuilder()
        .setNeedBackToSource(NeedBackToSource.newBuilder().setReason(reason)).build());
  }

  private void sendParents(Task task, Peer peer) {
    NormalTask.Builder parents = NormalTask.newBuilder();
    for (String parentId : peer.parents()) {
      Peer parent = task.peer(parentId);
      Host host = Optional.ofNullable(hosts.get(parent.host().getId())).orElse(parent.host());
      parents.addCandidateParents(CandidateParent.newBuilder().setPeerId(parentId).setHost(host));
    }
    log.info("task {}: peer {} parents {}", shortId(task.id()), peer.id(), peer.parents());
    peer.send(AnnouncePeerResponse.newBuilder().setNormalTask(parents).build());
  }

  /** Peers waiting for parents, or with room for more, are scheduled again. */
  private void rescheduleWaiting(Task task) {
    for (Peer peer : List.copyOf(task.peers())) {
      if (peer.state() == PeerState.PENDING
          || peer.state() == PeerState.RUNNING && peer.parents().size() < selector.limit()) {
        schedule(task, peer);
      }
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
          && peer.finishedCount() == 0) {
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
    failedSeeds.remove(task.id());
    rescheduleWaiting(task);
    log.info("task {} failed at the origin: {}", shortId(task.id()), reason);
  }

  private void peerGone(Task task, Peer peer, PeerState state) {
    peer.setState(state);
    if (peer.isSeed() && peer.host().getId().equals(task.seedHostId())) {
      seedFailed(task, peer.host().getId());
    }
    unlink(task, peer);
    rescheduleWaiting(task);
  }

  /** Removes a peer from its task; its children get new parents (schedule() sees it gone). */
  private void unlink(Task task, Peer gone) {
    task.removePeer(gone.id());
    for (Peer orphan : List.copyOf(task.peers())) {
      if (orphan.parents().contains(gone.id())) {
        schedule(task, orphan);
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
