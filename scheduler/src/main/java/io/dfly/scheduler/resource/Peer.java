package io.dfly.scheduler.resource;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.grpc.stub.StreamObserver;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One host's download of one task. Mutable state is guarded by the task's lock; responses go
 * out through {@link #send}, which serialises writes to the peer's stream.
 */
public final class Peer {
  private final String id;
  private final Host host;
  private final StreamObserver<AnnouncePeerResponse> stream;
  private final BitSet finishedPieces = new BitSet();
  private final LinkedHashSet<String> parents = new LinkedHashSet<>();
  private final Set<String> blocked = new HashSet<>();
  private final Map<String, Integer> parentFailures = new HashMap<>();
  private PeerState state = PeerState.PENDING;
  private boolean streamOpen = true;
  private long registeredAt = System.nanoTime();

  public Peer(String id, Host host, StreamObserver<AnnouncePeerResponse> stream) {
    this.id = id;
    this.host = host;
    this.stream = stream;
  }

  public String id() {
    return id;
  }

  public Host host() {
    return host;
  }

  public boolean isSeed() {
    return host.getType() == HostType.HOST_TYPE_SEED;
  }

  public PeerState state() {
    return state;
  }

  public void setState(PeerState state) {
    this.state = state;
  }

  public int finishedCount() {
    return finishedPieces.cardinality();
  }

  /** Records a finished piece; true when it is the peer's first. */
  public boolean finishPiece(int number) {
    boolean first = finishedPieces.isEmpty();
    finishedPieces.set(number);
    return first;
  }

  /** Current parents, by peer id, in the order they were given. */
  public Set<String> parents() {
    return parents;
  }

  public boolean isBlocked(String parentId) {
    return blocked.contains(parentId);
  }

  /** Never offers this parent to the peer again; the next schedule drops it from the parents. */
  public void block(String parentId) {
    blocked.add(parentId);
  }

  /** Counts a failed piece from a parent; returns the parent's failures so far. */
  public int countFailure(String parentId) {
    return parentFailures.merge(parentId, 1, Integer::sum);
  }

  public long registeredAtNanos() {
    return registeredAt;
  }

  public void send(AnnouncePeerResponse response) {
    synchronized (stream) {
      if (streamOpen) {
        stream.onNext(response);
      }
    }
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
