package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.BackToSourceStarted;
import io.dfly.api.scheduler.v1.CandidateParent;
import io.dfly.api.scheduler.v1.PeerFailed;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFailed;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.common.piece.PieceMath;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One download of one task on this host: the conductor of the piece engine. A single thread
 * owns all of the task's download state and reacts to events (scheduler answers, piece lists
 * from parents, finished or failed piece fetches, origin results); fetches themselves run on
 * virtual threads and report back through the event queue. That keeps the engine free of
 * locks and every decision in one place.
 */
public final class PeerTask {
  private static final Logger log = LoggerFactory.getLogger(PeerTask.class);
  private static final int ORIGIN_PIECE_ATTEMPTS = 3;
  private static final int PARENT_FAILURE_LIMIT = 3;

  private final TaskManager manager;
  private final Download download;
  private final String taskId;
  private final String peerId;
  private final TaskStore store;
  private final CompletableFuture<TaskStore> result = new CompletableFuture<>();
  private final LinkedBlockingQueue<PeerEvent> events = new LinkedBlockingQueue<>();

  // Conductor state, touched only by the conductor thread.
  private final Map<String, Parent> parents = new HashMap<>();
  private final Map<Integer, Piece> announced = new HashMap<>();
  private final Set<Integer> inflight = new HashSet<>();
  private final Map<Integer, Integer> originAttempts = new HashMap<>();
  private final PieceClaims claims;
  private StreamObserver<AnnouncePeerRequest> scheduler;
  private Origin origin;
  private int lowestMissing;
  private boolean finished;
  private boolean roomMade;

  PeerTask(TaskManager manager, Download download, String taskId, String peerId, TaskStore store) {
    this.manager = manager;
    this.download = download;
    this.taskId = taskId;
    this.peerId = peerId;
    this.store = store;
    this.claims = new PieceClaims(store);
  }

  public String taskId() {
    return taskId;
  }

  public TaskStore store() {
    return store;
  }

  /** Completes with the store once every piece is verified, or with the reason it failed. */
  public CompletableFuture<TaskStore> result() {
    return result;
  }

  void start() {
    Thread.ofVirtual().name("task-" + taskId.substring(0, 12)).start(this::conduct);
  }

  private void conduct() {
    try {
      register();
      maybeComplete();
      while (!finished) {
        PeerEvent event = events.poll(manager.config().stallTimeoutSeconds, TimeUnit.SECONDS);
        if (event == null) {
          onStall();
        } else {
          handle(event);
        }
        if (!finished && makeRoom()) {
          dispatch();
          maybeComplete();
        }
      }
    } catch (InterruptedException e) {
      fail("interrupted", false);
      Thread.currentThread().interrupt();
    } catch (RuntimeException | java.io.IOException e) {
      log.warn("task {} failed", taskId, e);
      fail(e.getMessage() == null ? e.toString() : e.getMessage(), false);
    } finally {
      parents.values().forEach(Parent::stopSync);
    }
  }

  // ---- scheduler -------------------------------------------------------------------------

  private void register() {
    try {
      scheduler = manager.scheduler().announcePeer(taskId, new StreamObserver<>() {
        @Override
        public void onNext(AnnouncePeerResponse response) {
          events.add(new PeerEvent.Scheduled(response));
        }

        @Override
        public void onError(Throwable t) {
          events.add(new PeerEvent.SchedulerLost(t.getMessage()));
        }

        @Override
        public void onCompleted() {
          events.add(new PeerEvent.SchedulerLost("stream closed by the scheduler"));
        }
      });
      send(request().setRegister(RegisterPeer.newBuilder().setDownload(download)));
      // Pieces kept from before a restart: the scheduler may hand this peer out as a parent.
      for (Piece piece : store.finishedPieces()) {
        send(request().setPieceFinished(PieceFinished.newBuilder().setPiece(piece)));
      }
      log.info("task {} registered as peer {} with scheduler {}", taskId, peerId,
          manager.scheduler().ownerAddress(taskId));
    } catch (RuntimeException e) {
      scheduler = null;
      startBackToSource("scheduler unreachable: " + e.getMessage());
    }
  }

  private AnnouncePeerRequest.Builder request() {
    return AnnouncePeerRequest.newBuilder()
        .setHostId(manager.host().getId())
        .setTaskId(taskId)
        .setPeerId(peerId);
  }

  private void send(AnnouncePeerRequest.Builder request) {
    if (scheduler == null) {
      return;
    }
    try {
      scheduler.onNext(request.build());
    } catch (RuntimeException e) {
      log.debug("task {}: report to the scheduler failed: {}", taskId, e.getMessage());
    }
  }

  private void closeScheduler() {
    if (scheduler != null) {
      try {
        scheduler.onCompleted();
      } catch (RuntimeException ignored) {
        // the scheduler has gone; nothing is waiting for the end of this stream
      }
      scheduler = null;
    }
  }

  // ---- events ----------------------------------------------------------------------------

  private void handle(PeerEvent event) {
    switch (event) {
      case PeerEvent.Scheduled s -> onScheduled(s.response());
      case PeerEvent.SchedulerLost lost -> onSchedulerLost(lost.reason());
      case PeerEvent.ParentUpdate u -> onParentUpdate(u);
      case PeerEvent.ParentEnded e -> onParentEnded(e);
      case PeerEvent.PieceFetched f -> onPieceFetched(f);
      case PeerEvent.PieceFetchFailed f -> onPieceFetchFailed(f);
      case PeerEvent.OriginProbed p -> onOriginProbed(p);
      case PeerEvent.OriginStreamEnded e -> onOriginStreamEnded(e);
      case PeerEvent.OriginFailed f -> fail(f.reason(), true);
      case PeerEvent.StoreFailed f -> fail(f.reason(), false);
    }
  }

  private void onScheduled(AnnouncePeerResponse response) {
    switch (response.getResponseCase()) {
      case NORMAL_TASK -> setParents(response.getNormalTask().getCandidateParentsList());
      case NEED_BACK_TO_SOURCE -> startBackToSource(response.getNeedBackToSource().getReason());
      case TASK_FAILED -> {
        closeScheduler();
        fail(response.getTaskFailed().getReason(), false);
      }
      case RESPONSE_NOT_SET -> log.warn("task {}: empty answer from the scheduler", taskId);
    }
  }

  private void onSchedulerLost(String reason) {
    if (scheduler == null) {
      return;
    }
    scheduler = null;
    log.warn("task {}: scheduler stream lost ({}); finishing from parents and the origin", taskId, reason);
    startBackToSource("scheduler lost");
  }

  private void onStall() {
    if (origin == null && inflight.isEmpty()) {
      log.warn("task {}: no progress for {} s", taskId, manager.config().stallTimeoutSeconds);
      startBackToSource("no progress");
    }
  }

  // ---- parents ---------------------------------------------------------------------------

  private void setParents(Iterable<CandidateParent> candidates) {
    Set<String> wanted = new HashSet<>();
    for (CandidateParent candidate : candidates) {
      wanted.add(candidate.getPeerId());
      if (!parents.containsKey(candidate.getPeerId())) {
        Parent parent = new Parent(candidate.getPeerId(), candidate.getHost());
        parents.put(parent.peerId, parent);
        parent.startSync(manager.peerChannels(), taskId, peerId, events);
        log.info("task {}: parent {} ({}{})", taskId, parent.peerId, parent.host.getIp(),
            parent.seed ? ", seed peer" : "");
      }
    }
    for (Parent parent : parents.values()) {
      if (!wanted.contains(parent.peerId) && !parent.dropped) {
        parent.drop();
      }
    }
  }

  private void onParentUpdate(PeerEvent.ParentUpdate update) {
    Parent parent = parents.get(update.parentId());
    if (parent == null || parent.dropped) {
      return;
    }
    try {
      if (update.pieceLength() > 0) {
        store.setLayout(update.contentLength(), update.pieceLength());
      }
    } catch (IllegalStateException e) {
      log.warn("task {}: parent {} disagrees on the layout: {}", taskId, parent.peerId, e.getMessage());
      parent.drop();
      return;
    }
    for (Piece piece : update.pieces()) {
      announced.putIfAbsent(piece.getNumber(), piece);
      parent.pieces.set(piece.getNumber());
    }
  }

  private void onParentEnded(PeerEvent.ParentEnded ended) {
    Parent parent = parents.get(ended.parentId());
    if (parent != null && ended.error() != null && !parent.dropped) {
      log.info("task {}: parent {} went away: {}", taskId, parent.peerId, ended.error());
      parent.drop();
    }
  }

  // ---- origin ----------------------------------------------------------------------------

  private void startBackToSource(String reason) {
    if (origin != null || finished) {
      return;
    }
    log.info("task {}: back to source ({})", taskId, reason);
    origin = new Origin(manager.sources(), download, store);
    send(request().setBackToSourceStarted(BackToSourceStarted.getDefaultInstance()));
    origin.probe(events);
  }

  private void onOriginProbed(PeerEvent.OriginProbed probed) {
    long pieceLength = store.pieceLength() > 0 ? store.pieceLength()
        : download.getPieceLength() > 0 ? download.getPieceLength()
        : PieceMath.pieceLength(probed.totalLength());
    store.setLayout(probed.totalLength(), pieceLength);
    if (probed.stream() != null) {
      origin.streamAll(probed.stream(), pieceLength, claims, events);
    } else {
      origin.ranged = true;
    }
  }

  private void onOriginStreamEnded(PeerEvent.OriginStreamEnded ended) {
    store.setLayout(ended.totalLength(), store.pieceLength());
  }

  // ---- pieces ----------------------------------------------------------------------------

  /** Once the length is known: room in the store for the rest, or the task fails before writing. */
  private boolean makeRoom() {
    if (roomMade || store.contentLength() < 0) {
      return true;
    }
    try {
      manager.makeRoom(store);
      roomMade = true;
      return true;
    } catch (GarbageCollector.StoreFullException e) {
      fail(e.getMessage(), false);
      return false;
    }
  }

  private void dispatch() {
    int concurrency = manager.config().pieceConcurrency;
    int count = store.pieceCount();
    int limit = count >= 0 ? count : highestAnnounced() + 1;
    while (lowestMissing < limit && store.isFinished(lowestMissing)) {
      lowestMissing++;
    }
    // Two passes: pieces other peers can give first, so seed peers (whose upload every new
    // peer competes for) serve only what no other parent has yet.
    for (boolean seeds : new boolean[] {false, true}) {
      for (int n = lowestMissing; n < limit && inflight.size() < concurrency; n++) {
        if (inflight.contains(n) || store.isFinished(n)) {
          continue;
        }
        Parent parent = pickParent(n, seeds);
        Piece piece = announced.get(n);
        if (parent != null) {
          if (startFetch(n, () -> parent.fetch(manager.httpClient(), taskId, piece, store, events))) {
            parent.inflight++;
          }
        } else if (seeds && origin != null && origin.ranged && count >= 0
            && origin.inflight < manager.config().originConcurrency) {
          int number = n;
          long offset = PieceMath.offset(n, store.pieceLength());
          long length = PieceMath.length(n, store.pieceLength(), store.contentLength());
          if (startFetch(n, () -> origin.fetch(number, offset, length, events))) {
            origin.inflight++;
          }
        }
      }
    }
  }

  private boolean startFetch(int number, Runnable fetch) {
    if (!claims.claim(number)) {
      return false; // the origin stream is writing it
    }
    inflight.add(number);
    Thread.ofVirtual().start(fetch);
    return true;
  }

  /**
   * The least busy parent of the given kind that has the piece and room for it, or null. While
   * other peers serve this one, a seed peer gets one request at a time: its upload is better
   * spent on peers nobody else can serve yet.
   */
  private Parent pickParent(int number, boolean seed) {
    int room = seed && parents.values().stream().anyMatch(p -> !p.seed && !p.dropped) ? 1
        : manager.config().perParentConcurrency;
    Parent best = null;
    for (Parent parent : parents.values()) {
      if (parent.seed != seed || parent.dropped || !parent.pieces.get(number) || parent.inflight >= room) {
        continue;
      }
      if (best == null || parent.inflight < best.inflight
          || (parent.inflight == best.inflight && parent.failures < best.failures)) {
        best = parent;
      }
    }
    return best;
  }

  private int highestAnnounced() {
    int highest = -1;
    for (int n : announced.keySet()) {
      highest = Math.max(highest, n);
    }
    return highest;
  }

  private void onPieceFetched(PeerEvent.PieceFetched fetched) {
    Piece piece = fetched.piece();
    if (store.isFinished(piece.getNumber())) {
      release(piece.getNumber(), fetched.parentId());
      return;
    }
    // Finished before released, so the origin stream never finds the piece unclaimed and unfinished.
    store.markFinished(piece);
    release(piece.getNumber(), fetched.parentId());
    Parent parent = fetched.parentId() == null ? null : parents.get(fetched.parentId());
    if (parent == null) {
      store.traffic().addFromOrigin(piece.getLength());
    } else if (parent.seed) {
      store.traffic().addFromSeedPeer(piece.getLength());
    } else {
      store.traffic().addFromPeer(piece.getLength());
    }
    PieceFinished.Builder report = PieceFinished.newBuilder().setPiece(piece).setCostNanos(fetched.costNanos());
    if (fetched.parentId() != null) {
      report.setParentId(fetched.parentId());
    }
    send(request().setPieceFinished(report));
  }

  private void onPieceFetchFailed(PeerEvent.PieceFetchFailed failed) {
    int number = failed.pieceNumber();
    release(number, failed.parentId());
    if (failed.parentId() == null) {
      int attempts = originAttempts.merge(number, 1, Integer::sum);
      log.warn("task {}: piece {} from the origin failed ({}/{}): {}", taskId, number, attempts,
          ORIGIN_PIECE_ATTEMPTS, failed.reason());
      if (attempts >= ORIGIN_PIECE_ATTEMPTS) {
        fail(failed.reason(), true);
      }
      return;
    }
    Parent parent = parents.get(failed.parentId());
    log.warn("task {}: piece {} from parent {} failed: {}", taskId, number, failed.parentId(), failed.reason());
    send(request().setPieceFailed(PieceFailed.newBuilder().setPieceNumber(number)
        .setParentId(failed.parentId()).setReason(failed.reason()).setCorrupt(failed.corrupt())));
    if (parent != null && !parent.dropped
        && (failed.corrupt() || ++parent.failures >= PARENT_FAILURE_LIMIT)) {
      parent.drop();
    }
    if (parents.values().stream().allMatch(p -> p.dropped) && scheduler == null) {
      startBackToSource("no parent left");
    }
  }

  private void release(int number, String parentId) {
    inflight.remove(number);
    claims.release(number);
    if (parentId == null) {
      if (origin != null && origin.inflight > 0 && !origin.streaming) {
        origin.inflight--;
      }
    } else {
      Parent parent = parents.get(parentId);
      if (parent != null) {
        parent.inflight--;
      }
    }
  }

  // ---- the end ---------------------------------------------------------------------------

  private void maybeComplete() throws java.io.IOException {
    int count = store.pieceCount();
    if (finished || count < 0 || store.finishedCount() < count) {
      return;
    }
    store.markComplete();
    send(request().setPeerFinished(PeerFinished.newBuilder()
        .setContentLength(store.contentLength()).setPieceCount(count)));
    closeScheduler();
    finished = true;
    log.info("task {} finished: {} bytes in {} pieces, traffic {}", taskId, store.contentLength(),
        count, store.traffic().snapshot().toString().replace('\n', ' '));
    result.complete(store);
  }

  private void fail(String reason, boolean sourceError) {
    if (finished) {
      return;
    }
    finished = true;
    send(request().setPeerFailed(PeerFailed.newBuilder().setReason(reason).setSourceError(sourceError)));
    closeScheduler();
    log.warn("task {} failed: {}", taskId, reason);
    result.completeExceptionally(new PeerTaskException(reason));
  }

  /** A parent as this task sees it. */
  static boolean isSeed(Host host) {
    return host.getType() == HostType.HOST_TYPE_SEED;
  }
}
