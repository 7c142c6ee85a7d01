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
 * out through {@link #send}, which serialises writes to the peer's stream.
 */
public final class Peer {
  /** Piece costs kept per peer as a parent. */
  private static final int COST_WINDOW = 32;
  /** Piece costs a child keeps per parent. */
  private static final int COSTS_PER_PARENT = 8;

  private final String id;
  private final KnownHost host;
  private final StreamObserver<AnnouncePeerResponse> stream;
  private final PieceSet pieces = new PieceSet();
  private final LinkedHashSet<Peer> parents = new LinkedHashSet<>();
  private final Set<Peer> children = Collections.newSetFromMap(new IdentityHashMap<>());
  /** Cost per byte of the last pieces this peer received, per parent. */
  private final Map<Peer, CostWindow> costsByParent = new IdentityHashMap<>();
  /** Cost of pieces this peer served, relative to what the same child paid on average. */
  private final CostWindow servedRelativeCosts = new CostWindow(COST_WINDOW);
  private PeerState state = PeerState.PENDING;
  private boolean streamOpen = true;
  private long lastReportNanos;
  private int failedRounds;
  private int servedFailures;
  private int costOutlierStreak;
  private boolean rejoined;
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

  public String id() {
    return id;
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
    return servedRelativeCosts;
  }

  /** Served pieces in a row whose cost was an outlier against this peer's history. */
  public int costOutlierStreak() {
    return costOutlierStreak;
  }

  public void setCostOutlierStreak(int streak) {
    costOutlierStreak = streak;
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

  public void send(AnnouncePeerResponse response) {
    synchronized (stream) {
      if (streamOpen) {
        try {
          stream.onNext(response);
        } catch (RuntimeException e) {
          streamOpen = false; // the peer is gone; its stream end will follow
        }
      }
    }
  }

  public boolean usesStream(StreamObserver<AnnouncePeerResponse> other) {
    return stream == other;
  }

  /** Ends the scheduler's side of the stream; later sends are dropped. */
  public void closeStream() {
    synchronized (stream) {
      if (streamOpen) {
        streamOpen = false;
        try {
          stream.onCompleted();
        } catch (RuntimeException ignored) {
          // the peer is gone already
        }
      }
    }
  }

  /** The peer closed its side; nothing more can be sent. */
  public void streamClosedByPeer() {
    synchronized (stream) {
      streamOpen = false;
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
