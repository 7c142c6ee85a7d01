package io.dfly.daemon.peer;

import com.google.protobuf.ByteString;
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
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.piece.PieceMath;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.StoreWriteException;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.stub.StreamObserver;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
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
  /** How many times the per-parent slots a peer whose only parent is a seed peer may use. */
  private static final int SOLE_SEED_CHILD_SHARE = 4;
  /**
   * Pieces a peer with other parents may have in flight from a seed peer. Under super-seeding the
   * seed's uplink is where every new piece enters the swarm, and the child's single seed stream
   * competed on its downlink with a dozen peer streams: with one, the seed's uplink ran at
   * 88-91 % on 50 Mbit/s links; with two, 93-95 %. Never more than per-parent-concurrency.
   */
  private static final int SEED_SLOTS_BESIDE_PEERS = 2;
  /** Missing pieces fetched strictly in order before rarest-first takes over. */
  private static final int IN_ORDER_WINDOW = 4;
  /** Content up to this size is sent to the scheduler when finished, so it can answer later peers with it. */
  private static final int TINY_CONTENT = 128;

  private final TaskManager manager;
  private final Download download;
  private final String taskId;
  private final String peerId;
  private final TaskStore store;
  /** Completes when the conductor ends: every wanted byte is here, or the task failed. */
  private final CompletableFuture<TaskStore> result = new CompletableFuture<>();
  private final List<PeerEvent.Wanted> waiters = new ArrayList<>();
  private final Object endLock = new Object();
  private boolean ended; // guarded by endLock
  private boolean started; // guarded by endLock
  private final LinkedBlockingQueue<PeerEvent> events = new LinkedBlockingQueue<>();
  /** Breaks ties among equally rare pieces differently on every peer, so peers ask for different pieces. */
  private final java.util.Random random;

  // Conductor state, touched only by the conductor thread.
  private final Map<String, Parent> parents = new HashMap<>();
  private final Map<Integer, Piece> announced = new HashMap<>();
  private final Set<Integer> inflight = new HashSet<>();
  private final Map<Integer, Integer> originAttempts = new HashMap<>();
  private final PieceClaims claims;
  /** This task's share of the host's download rate; its own limit changeable while running. */
  private final RateLimiter limiter;
  private SchedulerClient.PeerStream scheduler;
  /** Scheduler streams lost since the last answer from a scheduler. */
  private int schedulerLosses;
  /** Numbers the streams opened; what a stream this task has let go of still sends is dropped. */
  private int schedulerStream;
  private Origin origin;
  private int lowestMissing;
  private boolean finished;
  private boolean roomMade;

  PeerTask(TaskManager manager, Download download, String taskId, String peerId, TaskStore store,
      RateLimiter limiter) {
    this.manager = manager;
    this.limiter = limiter;
    this.download = download;
    this.taskId = taskId;
    this.peerId = peerId;
    this.store = store;
    this.claims = new PieceClaims(store);
    this.random = new java.util.Random(peerId.hashCode());
  }

  public String taskId() {
    return taskId;
  }

  public TaskStore store() {
    return store;
  }

  /** Sets this task's own rate limit, bytes per second; 0 leaves only the host's. */
  public void setRate(long bytesPerSecond) {
    limiter.setRate(bytesPerSecond);
  }

  /** This task's share of the host's download rate: a child of it weighted by the task's priority. */
  RateLimiter limiter() {
    return limiter;
  }

  /** Completes when this download ends, whatever the outcome; for bookkeeping. */
  CompletableFuture<TaskStore> result() {
    return result;
  }

  /**
   * Asks for the task, or a range of it; the future completes once those bytes are verified
   * in the store. Null when this download has already ended and a new one must start.
   */
  CompletableFuture<TaskStore> want(io.dfly.common.net.ByteRange range, boolean inOrder) {
    synchronized (endLock) {
      if (ended) {
        return null;
      }
      CompletableFuture<TaskStore> future = new CompletableFuture<>();
      events.add(new PeerEvent.Wanted(range, inOrder, future));
      if (!started) { // the conductor starts with its first waiter queued, so it never ends unwanted
        started = true;
        Thread.ofVirtual().name("task-" + taskId.substring(0, 12)).start(this::conduct);
      }
      return future;
    }
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
          // Everything already queued first (parents announce each piece they finish): one
          // dispatch then sees it all, instead of one sort of the missing pieces per event.
          while (!finished && (event = events.poll()) != null) {
            handle(event);
          }
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

  /**
   * Opens the task's stream on the scheduler that owns it and registers with what this peer
   * already has: a peer registering again after its scheduler died (or moving to one that came
   * back) names its pieces and whether it fetches from the origin, so the new scheduler hands it
   * out as a parent at once and does not send it to the origin for what it holds.
   */
  private void register() {
    int stream = ++schedulerStream;
    try {
      scheduler = manager.scheduler().announcePeer(taskId, new StreamObserver<>() {
        @Override
        public void onNext(AnnouncePeerResponse response) {
          events.add(new PeerEvent.Scheduled(stream, response));
        }

        @Override
        public void onError(Throwable t) {
          events.add(new PeerEvent.SchedulerLost(stream, t.getMessage()));
        }

        @Override
        public void onCompleted() {
          events.add(new PeerEvent.SchedulerLost(stream, "stream closed by the scheduler"));
        }
      });
      List<Piece> held = store.finishedPieces();
      RegisterPeer.Builder registration = RegisterPeer.newBuilder().setDownload(download)
          .setBackToSource(origin != null);
      held.forEach(piece -> registration.addFinishedPieces(piece.getNumber()));
      send(request().setRegister(registration));
      // Each piece's digest too: the scheduler keeps the first one for tasks it answers directly.
      for (Piece piece : held) {
        send(request().setPieceFinished(PieceFinished.newBuilder().setPiece(piece)));
      }
      log.info("task {} registered as peer {} with scheduler {} ({} pieces here)", taskId, peerId,
          scheduler.scheduler(), store.finishedCount());
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
      scheduler.requests().onNext(request.build());
    } catch (RuntimeException e) {
      log.debug("task {}: report to the scheduler failed: {}", taskId, e.getMessage());
    }
  }

  private void closeScheduler() {
    if (scheduler != null) {
      schedulerStream++;
      try {
        scheduler.requests().onCompleted();
      } catch (RuntimeException ignored) {
        // the scheduler has gone; nothing is waiting for the end of this stream
      }
      scheduler = null;
    }
  }

  // ---- events ----------------------------------------------------------------------------

  private void handle(PeerEvent event) {
    switch (event) {
      case PeerEvent.Scheduled s when s.stream() == schedulerStream -> onScheduled(s.response());
      case PeerEvent.Scheduled stale -> { } // from a stream this task has let go of
      case PeerEvent.Wanted w -> waiters.add(w);
      case PeerEvent.SchedulerLost lost when lost.stream() == schedulerStream -> onSchedulerLost(lost.reason());
      case PeerEvent.SchedulerLost stale -> { }
      case PeerEvent.SchedulerMoved moved -> onSchedulerMoved();
      case PeerEvent.ParentUpdate u -> onParentUpdate(u);
      case PeerEvent.ParentEnded e -> onParentEnded(e);
      case PeerEvent.PieceFetched f -> onPieceFetched(f);
      case PeerEvent.PieceFetchFailed f -> onPieceFetchFailed(f);
      case PeerEvent.PieceFetchCancelled c -> release(c.pieceNumber(), c.parentId());
      case PeerEvent.OriginProbed p -> onOriginProbed(p);
      case PeerEvent.OriginStreamEnded e -> onOriginStreamEnded(e);
      case PeerEvent.OriginFailed f -> fail(f.reason(), true);
      case PeerEvent.StoreFailed f -> fail(f.reason(), false, true);
    }
  }

  private void onScheduled(AnnouncePeerResponse response) {
    schedulerLosses = 0;
    switch (response.getResponseCase()) {
      case NORMAL_TASK -> setParents(response.getNormalTask().getCandidateParentsList());
      case NEED_BACK_TO_SOURCE -> startBackToSource(response.getNeedBackToSource().getReason());
      case TASK_FAILED -> {
        closeScheduler();
        fail(response.getTaskFailed().getReason(), false);
      }
      case EMPTY_TASK -> takeWhole(ByteString.EMPTY, null);
      case TINY_TASK -> takeWhole(response.getTinyTask().getContent(), response.getTinyTask().getPiece());
      case RESPONSE_NOT_SET -> log.warn("task {}: empty answer from the scheduler", taskId);
    }
  }

  /**
   * The scheduler sent the whole task, empty or tiny enough to travel in its answer: it goes into
   * the store as the only piece, checked against the digest its first peer recorded.
   */
  private void takeWhole(ByteString content, Piece piece) {
    if (origin != null || finished) {
      return;
    }
    long pieceLength = store.pieceLength() > 0 ? store.pieceLength()
        : download.getPieceLength() > 0 ? download.getPieceLength() : PieceMath.pieceLength(content.size());
    store.setLayout(content.size(), pieceLength);
    if (piece == null || store.isFinished(0)) {
      return;
    }
    try {
      Piece written = store.readPiece(Channels.newChannel(content.newInput()), 0, 0, content.size(), true);
      if (!written.getDigest().equals(piece.getDigest())) {
        startBackToSource("the content the scheduler sent does not match its digest");
        return;
      }
      store.markFinished(written);
      store.traffic().addFromPeer(content.size());
    } catch (java.io.IOException e) {
      fail(e.getMessage(), false, e instanceof StoreWriteException);
    }
  }

  /**
   * The stream broke: register again with the task's owner among the schedulers still up (the
   * client has marked an unreachable one down), keeping parents, pieces and any origin fetch.
   * Back to source only when no scheduler is up, or every one in turn lost the stream before
   * answering.
   */
  private void onSchedulerLost(String reason) {
    if (scheduler == null) {
      return;
    }
    String lost = scheduler.scheduler();
    scheduler = null;
    if (++schedulerLosses > manager.scheduler().schedulerCount()) {
      log.warn("task {}: stream to scheduler {} lost ({}), {} times without an answer; finishing from parents and "
          + "the origin", taskId, lost, reason, schedulerLosses);
      startBackToSource("scheduler lost");
      return;
    }
    log.warn("task {}: stream to scheduler {} lost ({}); registering again", taskId, lost, reason);
    register();
  }

  /**
   * Tells a running download that its task may have changed scheduler (one came back up): it
   * moves to the owner, so that the task's peers do not stay split over two schedulers.
   */
  void schedulerMoved() {
    events.add(new PeerEvent.SchedulerMoved());
  }

  private void onSchedulerMoved() {
    if (scheduler == null || finished) {
      return;
    }
    String owner = manager.scheduler().ownerAddress(taskId).orElse(null);
    if (owner == null || owner.equals(scheduler.scheduler())) {
      return;
    }
    log.info("task {}: scheduler {} owns it now; leaving {} for it", taskId, owner, scheduler.scheduler());
    closeScheduler();
    register();
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
      Parent known = parents.get(candidate.getPeerId());
      if (known == null) {
        Parent parent = new Parent(candidate.getPeerId(), candidate.getHost());
        parents.put(parent.peerId, parent);
        parent.startSync(manager.peerChannels(), taskId, peerId, events);
        log.info("task {}: parent {} ({}{})", taskId, parent.peerId, parent.host.getIp(),
            parent.seed ? ", seed peer" : "");
      } else if (known.dropped) {
        // The scheduler re-evaluates parents every round: one it let go of may come back.
        known.revive(manager.peerChannels(), taskId, peerId, events);
        log.info("task {}: parent {} ({}) offered again", taskId, known.peerId, known.host.getIp());
      }
    }
    for (Parent parent : parents.values()) {
      if (!wanted.contains(parent.peerId) && !parent.dropped) {
        letGo(parent, "no longer offered");
      }
    }
  }

  /** Lets go of a parent (its piece stream ends, its fetches in flight are cancelled), saying why. */
  private void letGo(Parent parent, String why) {
    log.info("task {}: parent {} ({}) let go: {}", taskId, parent.peerId, parent.host.getIp(), why);
    parent.drop();
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
      letGo(parent, "it disagrees on the layout");
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
      letGo(parent, "it went away: " + ended.error());
    }
  }

  // ---- origin ----------------------------------------------------------------------------

  private void startBackToSource(String reason) {
    if (origin != null || finished) {
      return;
    }
    if (download.getDisableBackToSource()) {
      fail("no peer could serve the task (" + reason + ") and back-to-source is disabled", false);
      return;
    }
    log.info("task {}: back to source ({})", taskId, reason);
    origin = new Origin(manager.sources(), download, store, limiter);
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
      fail(e.getMessage(), false, true);
      return false;
    }
  }

  /**
   * Hands out free fetch slots in {@link PieceOrder}. Two passes: pieces other peers can give
   * first, so seed peers (whose upload every new peer competes for) serve only what no other
   * parent has yet; the origin takes what no parent has.
   */
  private void dispatch() {
    int concurrency = concurrency();
    int count = store.pieceCount();
    int limit = count >= 0 ? count : highestAnnounced() + 1;
    while (lowestMissing < limit && store.isFinished(lowestMissing)) {
      lowestMissing++;
    }
    if (inflight.size() >= concurrency) {
      return;
    }
    List<Integer> candidates = new ArrayList<>();
    for (int n = lowestMissing; n < limit; n++) {
      if (!inflight.contains(n) && !store.isFinished(n) && isWanted(n)) {
        candidates.add(n);
      }
    }
    boolean reader = waiters.stream().anyMatch(PeerEvent.Wanted::inOrder);
    Parent[] live = liveParents();
    List<Integer> ordered = PieceOrder.order(candidates, n -> holders(live, n), reader ? IN_ORDER_WINDOW : 0, random);
    Slots slots = new Slots(live);
    for (boolean seeds : new boolean[] {false, true}) {
      for (int n : ordered) {
        if (inflight.size() >= concurrency) {
          return;
        }
        if (inflight.contains(n)) {
          continue;
        }
        Parent parent = pickParent(n, seeds, live, slots);
        Piece piece = announced.get(n);
        if (parent != null) {
          String authorization = manager.peerChannels().authorization();
          if (startFetch(n, () -> parent.fetch(manager.httpClient(), authorization, taskId, piece, store, limiter,
              events))) {
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

  /**
   * Pieces in flight at once for this task, by its priority: with no host download limit the
   * network is what tasks share, and more streams get more of it. (Under a limit the host's
   * bucket also shares by weight: {@link TaskManager#shareWeight}.)
   */
  private int concurrency() {
    int base = manager.config().pieceConcurrency;
    return switch (download.getPriority()) {
      case PRIORITY_LOW -> Math.max(1, base / 4);
      case PRIORITY_HIGH -> base * 2;
      default -> base;
    };
  }

  /** True when some caller wants bytes of piece {@code n}. */
  private boolean isWanted(int n) {
    long pieceLength = store.pieceLength();
    if (pieceLength <= 0) {
      return true;
    }
    long first = (long) n * pieceLength;
    long last = first + pieceLength - 1;
    for (PeerEvent.Wanted w : waiters) {
      if (w.range() == null || (w.range().first() <= last && w.range().last() >= first)) {
        return true;
      }
    }
    return false;
  }

  private static int holders(Parent[] live, int n) {
    int holders = 0;
    for (Parent parent : live) {
      if (parent.pieces.get(n)) {
        holders++;
      }
    }
    return holders;
  }

  private Parent[] liveParents() {
    List<Parent> live = new ArrayList<>(parents.size());
    for (Parent parent : parents.values()) {
      if (!parent.dropped) {
        live.add(parent);
      }
    }
    return live.toArray(new Parent[0]);
  }

  /** What every parent's room depends on, worked out once per dispatch rather than per piece. */
  private record Slots(boolean otherPeers, double fastest) {
    Slots(Parent[] live) {
      this(Arrays.stream(live).anyMatch(p -> !p.seed), Parent.fastestMeasured(Arrays.asList(live)));
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
   * The parent of the given kind that has the piece and would finish it soonest, judged by its
   * measured rate and the pieces it already has in flight; null when none has room. A parent
   * gets slots in proportion to its rate against the fastest one, so a slow parent loses its
   * share of the work. While other peers serve this one, a seed peer gets
   * {@link #SEED_SLOTS_BESIDE_PEERS} requests at a time: its upload is better spent on peers
   * nobody else can serve yet.
   */
  private Parent pickParent(int number, boolean seed, Parent[] live, Slots slots) {
    int perParent = manager.config().perParentConcurrency;
    boolean otherPeers = slots.otherPeers();
    double fastest = slots.fastest();
    Parent best = null;
    double bestFinish = Double.MAX_VALUE;
    for (Parent parent : live) {
      if (parent.seed != seed || !parent.pieces.get(number)) {
        continue;
      }
      // Without other peers this peer is where the swarm's new pieces enter (every later peer
      // has it as a parent): it takes a larger share of the seed peer's upload.
      int room = !seed ? parent.slots(perParent, fastest)
          : otherPeers ? Math.min(SEED_SLOTS_BESIDE_PEERS, perParent) : perParent * SOLE_SEED_CHILD_SHARE;
      if (parent.inflight >= room) {
        continue;
      }
      double finish = (parent.inflight + 1) / parent.bytesPerSecond() * (1 + parent.failures);
      if (finish < bestFinish) {
        best = parent;
        bestFinish = finish;
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
    if (parent != null) {
      parent.recordTransfer(piece.getLength(), fetched.costNanos());
    }
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
        .setParentId(failed.parentId()).setReason(failed.reason())
        .setCorrupt(failed.fault() == PeerEvent.Fault.CORRUPT)
        .setStalled(failed.fault() == PeerEvent.Fault.STALLED)));
    // A parent that corrupts or hangs is let go at once, with its other fetches in flight; the
    // scheduler may offer it again. Other errors may pass, so they need to repeat.
    if (parent != null && !parent.dropped
        && (failed.fault() != PeerEvent.Fault.FAILED || ++parent.failures >= PARENT_FAILURE_LIMIT)) {
      letGo(parent, switch (failed.fault()) {
        case CORRUPT -> "it served a corrupt piece";
        case STALLED -> "it stalled";
        case FAILED -> parent.failures + " pieces from it failed";
      });
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
    if (finished) {
      return;
    }
    int count = store.pieceCount();
    if (count >= 0 && store.finishedCount() >= count) {
      store.markComplete();
      long size = store.contentLength();
      PeerFinished.Builder done = PeerFinished.newBuilder().setContentLength(size).setPieceCount(count);
      if (size > 0 && size <= TINY_CONTENT) {
        byte[] content = Files.readAllBytes(store.dataPath());
        if (content.length >= size) {
          done.setContent(ByteString.copyFrom(content, 0, (int) size));
        }
      }
      send(request().setPeerFinished(done));
      closeScheduler();
      finish();
      log.info("task {} finished: {} bytes in {} pieces, traffic {}", taskId, store.contentLength(),
          count, store.traffic().snapshot().toString().replace('\n', ' '));
      waiters.forEach(w -> w.future().complete(store));
      drainWanted().forEach(w -> w.future().complete(store));
      result.complete(store);
      return;
    }
    long length = store.contentLength();
    waiters.removeIf(w -> {
      if (w.range() == null || length < 0) {
        return false;
      }
      if (w.range().first() >= length) {
        w.future().completeExceptionally(new PeerTaskException("range starts at " + w.range().first()
            + " but the content has " + length + " bytes"));
        return true;
      }
      if (store.hasRange(w.range().first(), Math.min(w.range().last(), length - 1))) {
        w.future().complete(store);
        return true;
      }
      return false;
    });
    if (waiters.isEmpty()) {
      synchronized (endLock) {
        if (events.stream().anyMatch(e -> e instanceof PeerEvent.Wanted)) {
          return; // someone else wants more
        }
        ended = true;
      }
      // Every wanted range is here; the rest of the task stays for a later download.
      closeScheduler();
      finished = true;
      log.info("task {}: wanted ranges done, {} of {} pieces here", taskId, store.finishedCount(), count);
      result.complete(store);
    }
  }

  private void finish() {
    synchronized (endLock) {
      ended = true;
    }
    finished = true;
  }

  /** Wanted events that arrived after the last one handled. */
  private List<PeerEvent.Wanted> drainWanted() {
    List<PeerEvent.Wanted> late = new ArrayList<>();
    for (PeerEvent event : events) {
      if (event instanceof PeerEvent.Wanted w) {
        late.add(w);
      }
    }
    return late;
  }

  private void fail(String reason, boolean sourceError) {
    fail(reason, sourceError, false);
  }

  private void fail(String reason, boolean sourceError, boolean storage) {
    if (finished) {
      return;
    }
    finish();
    send(request().setPeerFailed(PeerFailed.newBuilder().setReason(reason).setSourceError(sourceError)));
    closeScheduler();
    log.warn("task {} failed: {}", taskId, reason);
    PeerTaskException error = new PeerTaskException(reason, storage);
    waiters.forEach(w -> w.future().completeExceptionally(error));
    drainWanted().forEach(w -> w.future().completeExceptionally(error));
    result.completeExceptionally(error);
  }

  /** A parent as this task sees it. */
  static boolean isSeed(Host host) {
    return host.getType() == HostType.HOST_TYPE_SEED;
  }
}
