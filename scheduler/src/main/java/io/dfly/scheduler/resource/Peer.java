package io.dfly.scheduler.resource;

import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.grpc.stub.StreamObserver;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One host's download of one task. Mutable state is guarded by the task's lock; responses go
 * out through {@link #send}, which serialises writes to the peer's stream. A finished peer stays
 * in its task for hours as a parent, so it lets go of its stream once that ends (a gRPC call's
 * objects weigh more than the peer) and its maps start small.
 */
public final class Peer {
  /** Piece costs kept per peer as a parent. */
  private static final int COST_WINDOW = 32;
  /** Piece costs a child keeps per parent. */
  private static final int COSTS_PER_PARENT = 8;

  private final String id;
  private final KnownHost host;
  /** Null once the stream ended; guarded by this peer's monitor, as is writable. */
  private StreamObserver<AnnouncePeerResponse> stream;
  /** False once a write failed: the peer is gone, and the end of its stream will follow. */
  private boolean writable = true;
  private final PieceSet pieces = new PieceSet();
  private final LinkedHashSet<Peer> parents = new LinkedHashSet<>();
  private final Set<Peer> children = Collections.newSetFromMap(new IdentityHashMap<>(4));
  /** Cost per byte of the last pieces this peer received, per parent. */
  private final Map<Peer, CostWindow> costsByParent = new IdentityHashMap<>(4);
  /** Cost of pieces this peer served, relative to what the same child paid on average; made when first needed. */
  private CostWindow servedRelativeCosts;
  private PeerState state = PeerState.PENDING;
  private long lastReportNanos;
  private int failedRounds;
  private int servedFailures;
  private int costOutlierStreak;
  /** When the last outlier piece of the streak was reported. */
  private long costOutlierUntilNanos = Long.MIN_VALUE;
  private boolean rejoined;
  /** False for a peer the scheduler announced and that has not registered yet ({@link #announced}). */
  private boolean registered = true;
  /** How fast this peer delivers to its children while busy; made when first needed. */
  private UplinkMeter uplinkMeter;
  /** Children this peer may have as a parent (fewer when it is slow). */
  private int childCapacity = Integer.MAX_VALUE;
  /** Position in the task's peer list, for sampling; -1 once the peer is out of its task. */
  int index = -1;
  Task task;
  /** Marks of the last decision that looked at this peer, so each looks at a peer once in O(1). */
  private long candidateMark;
  private long descendantMark;

  public Peer(String id, KnownHost host, StreamObserver<AnnouncePeerResponse> stream, long nowNanos) {
    this.id = id;
    this.host = host;
    this.stream = stream;
    this.lastReportNanos = nowNanos;
  }

  /**
   * A peer the scheduler names before it registers: a seed peer it has just triggered, offered to
   * waiting peers at once. It has no stream until it registers under this id ({@link #attach}).
   */
  public static Peer announced(String id, KnownHost host, long nowNanos) {
    Peer peer = new Peer(id, host, null, nowNanos);
    peer.registered = false;
    return peer;
  }

  public String id() {
    return id;
  }

  /** False while the peer is one the scheduler announced and it has not registered yet. */
  public boolean isRegistered() {
    return registered;
  }

  /** The announced peer registered: its answers go to {@code newStream} from now on. */
  public synchronized void attach(StreamObserver<AnnouncePeerResponse> newStream) {
    stream = newStream;
    registered = true;
  }

  public KnownHost host() {
    return host;
  }

  /** The task the peer was added to; lock it before touching the peer. */
  public Task task() {
    return task;
  }

  /** The peer was taken out of its task (it left, failed, or registered again). Under the task's lock. */
  public boolean isRemoved() {
    return index < 0;
  }

  public boolean isSeed() {
    return host.isSeed();
  }

  public PeerState state() {
    return state;
  }

  public void setState(PeerState state) {
    this.state = state;
  }

  public PieceSet pieces() {
    return pieces;
  }

  /** Current parents, in the order they were given. */
  public Set<Peer> parents() {
    return Collections.unmodifiableSet(parents);
  }

  /** Peers that have this one as a parent. */
  public Set<Peer> children() {
    return Collections.unmodifiableSet(children);
  }

  /** Replaces the parents, keeping every parent's children in step. */
  public void setParents(List<Peer> newParents) {
    for (Peer old : parents) {
      old.children.remove(this);
    }
    parents.clear();
    parents.addAll(newParents);
    for (Peer parent : parents) {
      parent.children.add(this);
    }
  }

  /**
   * Takes this peer out of the graph: it has no parents and forgets its children, which keep it
   * in their parents until they are scheduled again (so that they are told of the change), and
   * forget what it cost them.
   */
  public void detach() {
    setParents(List.of());
    for (Peer child : children) {
      child.costsByParent.remove(this);
    }
    children.clear();
  }

  public long lastReportNanos() {
    return lastReportNanos;
  }

  /** The peer reported something, or a child reported a piece from it. */
  public void reported(long nowNanos) {
    lastReportNanos = nowNanos;
  }

  /** The peer registered again (it held pieces or was known already): others like it are on their way. */
  public boolean rejoined() {
    return rejoined;
  }

  public void setRejoined() {
    rejoined = true;
  }

  /** Counts a schedule round that found no parent; returns how many in a row. */
  public int countFailedRound() {
    return ++failedRounds;
  }

  public void resetFailedRounds() {
    failedRounds = 0;
  }

  /** Pieces this peer failed to serve in its task; returns the count so far. */
  public int countServedFailure() {
    return ++servedFailures;
  }

  /** Costs per byte of the last pieces this peer got from {@code parent}. */
  public CostWindow costsFrom(Peer parent) {
    return costsByParent.computeIfAbsent(parent, p -> new CostWindow(COSTS_PER_PARENT));
  }

  /**
   * The mean cost per byte this peer pays its parents other than {@code parent}, each parent
   * weighing the same; NaN when no other parent served it at least {@code minSamples} pieces.
   */
  public double meanCostExcept(Peer parent, int minSamples) {
    double sum = 0;
    int parents = 0;
    for (Map.Entry<Peer, CostWindow> entry : costsByParent.entrySet()) {
      if (entry.getKey() != parent && entry.getValue().size() >= minSamples) {
        sum += entry.getValue().mean();
        parents++;
      }
    }
    return parents == 0 ? Double.NaN : sum / parents;
  }

  public CostWindow servedRelativeCosts() {
    if (servedRelativeCosts == null) {
      servedRelativeCosts = new CostWindow(COST_WINDOW);
    }
    return servedRelativeCosts;
  }

  public UplinkMeter uplinkMeter() {
    if (uplinkMeter == null) {
      uplinkMeter = new UplinkMeter();
    }
    return uplinkMeter;
  }

  /** Pieces its children reported from it, without making a meter for a peer that served none. */
  public int servedPieces() {
    return uplinkMeter == null ? 0 : uplinkMeter.pieces();
  }

  /** Children this peer may have as a parent: unbounded unless it was found slow. */
  public int childCapacity() {
    return childCapacity;
  }

  /** It was found slow as a parent ({@code SlowParents}), so its children are capped. */
  public boolean isSlow() {
    return childCapacity != Integer.MAX_VALUE;
  }

  public void setChildCapacity(int capacity) {
    childCapacity = capacity;
  }

  /** The mean of {@link #servedRelativeCosts()}; NaN while it holds none. */
  public double servedRelativeCostMean() {
    return servedRelativeCosts == null || servedRelativeCosts.size() == 0 ? Double.NaN : servedRelativeCosts.mean();
  }

  /** Served pieces in a row whose cost was an outlier against this peer's history. */
  public int costOutlierStreak() {
    return costOutlierStreak;
  }

  /**
   * Counts a served piece whose cost was an outlier, reported at {@code endNanos} after
   * {@code costNanos}, toward {@link #costOutlierStreak()}. Pieces that were in flight together count once:
   * one pause of the parent (a GC, a busy core, a disk flush) slows every piece it is serving,
   * and that is one event, not a trend.
   */
  public void countCostOutlier(long endNanos, long costNanos) {
    if (endNanos - costNanos >= costOutlierUntilNanos) {
      costOutlierStreak++;
    }
    costOutlierUntilNanos = Math.max(costOutlierUntilNanos, endNanos);
  }

  /** A served piece cost what its history says: the streak of outliers is broken. */
  public void resetCostOutliers() {
    costOutlierStreak = 0;
  }

  /** Marks this peer as a candidate of decision {@code mark}; false when it was already. */
  public boolean markCandidate(long mark) {
    if (candidateMark == mark) {
      return false;
    }
    candidateMark = mark;
    return true;
  }

  /** Marks this peer as a descendant of the child of decision {@code mark}; false when it was already. */
  public boolean markDescendant(long mark) {
    if (descendantMark == mark) {
      return false;
    }
    descendantMark = mark;
    return true;
  }

  public boolean isDescendantMarked(long mark) {
    return descendantMark == mark;
  }

  public synchronized void send(AnnouncePeerResponse response) {
    if (stream != null && writable) {
      try {
        stream.onNext(response);
      } catch (RuntimeException e) {
        writable = false;
      }
    }
  }

  /** True when {@code other} is this peer's stream and it has not ended. */
  public synchronized boolean usesStream(StreamObserver<AnnouncePeerResponse> other) {
    return stream == other;
  }

  /** Ends the scheduler's side of the stream; later sends are dropped. */
  public synchronized void closeStream() {
    closeStream(null);
  }

  /** Ends the scheduler's side of the stream with an error, or normally when it is null. */
  public synchronized void closeStream(RuntimeException error) {
    if (stream != null && writable) {
      try {
        if (error == null) {
          stream.onCompleted();
        } else {
          stream.onError(error);
        }
      } catch (RuntimeException ignored) {
        // the peer is gone already
      }
    }
    stream = null;
  }

  /** The peer closed its side; nothing more can be sent. */
  public synchronized void streamClosedByPeer() {
    stream = null;
  }

  @Override
  public String toString() {
    return id;
  }
}
