package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.SyncPiecesRequest;
import io.dfly.api.dfdaemon.v1.SyncPiecesResponse;
import io.dfly.common.auth.ClusterToken;
import io.dfly.common.limit.RateLimiter;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import io.dfly.daemon.storage.StoreWriteException;
import io.dfly.source.http.BulkHttpClient;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.BitSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A parent of a task: its piece list arrives over a gRPC stream, its piece bytes over HTTP
 * range reads from its upload server. Counters are the conductor's; fetches run elsewhere and
 * only post events.
 */
final class Parent {
  private static final double UNMEASURED_RATE = 1e9;
  final String peerId;
  final Host host;
  final boolean seed;
  final BitSet pieces = new BitSet();
  int inflight;
  int failures;
  boolean dropped;
  /** Measured rate of one piece stream from this parent, bytes per second; 0 until measured. */
  private double rate;
  private ClientCallStreamObserver<SyncPiecesRequest> sync;
  /**
   * Bumped by every sync started and by every drop: a stream posts events only while it is the
   * current one, so a cancelled stream's late end cannot drop the parent once it is taken back.
   */
  private volatile int generation;
  /** Fetches from this parent in flight, cancelled when it is dropped. */
  private final Set<BulkHttpClient.Cancel> fetching = ConcurrentHashMap.newKeySet();

  Parent(String peerId, Host host) {
    this.peerId = peerId;
    this.host = host;
    this.seed = PeerTask.isSeed(host);
  }

  void startSync(PeerChannels channels, String taskId, String selfPeerId, BlockingQueue<PeerEvent> events) {
    int mine = ++generation;
    SyncPiecesRequest request = SyncPiecesRequest.newBuilder()
        .setTaskId(taskId).setRequesterPeerId(selfPeerId).build();
    DfdaemonPeerGrpc.newStub(channels.channel(host.getIp(), host.getGrpcPort())).syncPieces(request,
        new ClientResponseObserver<SyncPiecesRequest, SyncPiecesResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<SyncPiecesRequest> stream) {
            sync = stream;
          }

          @Override
          public void onNext(SyncPiecesResponse response) {
            if (generation != mine) {
              return;
            }
            events.add(new PeerEvent.ParentUpdate(peerId, response.getContentLength(),
                response.getPieceLength(), response.getPiecesList()));
          }

          @Override
          public void onError(Throwable t) {
            if (generation != mine) {
              return;
            }
            events.add(new PeerEvent.ParentEnded(peerId, t.getMessage()));
          }

          @Override
          public void onCompleted() {
            if (generation != mine) {
              return;
            }
            events.add(new PeerEvent.ParentEnded(peerId, null));
          }
        });
  }

  /** Folds one finished piece into the measured rate (moving average). */
  void recordTransfer(long bytes, long nanos) {
    double sample = bytes * 1e9 / Math.max(nanos, 1);
    rate = rate == 0 ? sample : 0.7 * rate + 0.3 * sample;
  }

  /** The measured rate, or an optimistic guess before the first piece so that new parents get tried. */
  double bytesPerSecond() {
    return rate > 0 ? rate : UNMEASURED_RATE;
  }

  /**
   * Pieces this parent may have in flight: the full share for the fastest parent, fewer for slower
   * ones, the full share until it is measured.
   */
  int slots(int perParent, double fastest) {
    if (rate == 0 || fastest <= 0) {
      return perParent;
    }
    return Math.max(1, (int) Math.round(perParent * rate / fastest));
  }

  /**
   * The fastest measured rate among the live parents, 0 when none is measured. Unmeasured ones are
   * left out: their optimistic guess would make every measured parent look slow next to it and
   * cut each to one slot until the newcomer delivered a piece, or for good when it never has one
   * this child lacks.
   */
  static double fastestMeasured(Iterable<Parent> parents) {
    double fastest = 0;
    for (Parent parent : parents) {
      if (!parent.dropped) {
        fastest = Math.max(fastest, parent.rate);
      }
    }
    return fastest;
  }

  void stopSync() {
    if (sync != null) {
      sync.cancel("no longer a parent", null);
    }
  }

  /**
   * Lets go of this parent: its piece stream ends and its fetches in flight are cancelled (their
   * connections closed), so their pieces go to other parents now instead of after a timeout.
   */
  void drop() {
    dropped = true;
    generation++;
    stopSync();
    fetching.forEach(BulkHttpClient.Cancel::cancel);
  }

  /** Takes a dropped parent back when the scheduler offers it again: a fresh sync, a clean record. */
  void revive(PeerChannels channels, String taskId, String selfPeerId, BlockingQueue<PeerEvent> events) {
    dropped = false;
    failures = 0;
    startSync(channels, taskId, selfPeerId, events);
  }

  /** Fetches one piece from this parent's upload server into the store and verifies it. */
  void fetch(BulkHttpClient http, String authorization, String taskId, Piece piece, TaskStore store,
      RateLimiter limiter, BlockingQueue<PeerEvent> events) {
    long start = System.nanoTime();
    BulkHttpClient.Cancel cancel = new BulkHttpClient.Cancel();
    fetching.add(cancel);
    try {
      fetchPiece(http, authorization, taskId, piece, store, limiter, events, start, cancel);
    } catch (IOException e) {
      if (cancel.isCancelled()) {
        events.add(new PeerEvent.PieceFetchCancelled(piece.getNumber(), peerId));
      } else {
        events.add(new PeerEvent.PieceFetchFailed(piece.getNumber(), peerId, String.valueOf(e.getMessage()),
            e instanceof SocketTimeoutException ? PeerEvent.Fault.STALLED : PeerEvent.Fault.FAILED));
      }
    } finally {
      fetching.remove(cancel);
    }
  }

  private void fetchPiece(BulkHttpClient http, String authorization, String taskId, Piece piece, TaskStore store,
      RateLimiter limiter, BlockingQueue<PeerEvent> events, long start, BulkHttpClient.Cancel cancel)
      throws IOException {
    URI uri = URI.create("http://" + hostPort() + "/tasks/" + taskId + "/data");
    String range = "bytes=" + piece.getOffset() + "-" + (piece.getOffset() + piece.getLength() - 1);
    Map<String, String> headers = authorization == null ? Map.of("Range", range)
        : Map.of("Range", range, ClusterToken.HTTP_HEADER, authorization);
    try (BulkHttpClient.Response response = http.get(uri, headers, cancel)) {
      if (response.status() != 206) {
        events.add(new PeerEvent.PieceFetchFailed(piece.getNumber(), peerId,
            "parent answered HTTP " + response.status(), PeerEvent.Fault.FAILED));
        return;
      }
      Piece got = store.readPiece(response, piece.getNumber(), piece.getOffset(), piece.getLength(), true,
          limiter);
      if (!got.getDigest().equals(piece.getDigest())) {
        events.add(new PeerEvent.PieceFetchFailed(piece.getNumber(), peerId,
            "piece digest " + got.getDigest() + " does not match " + piece.getDigest(), PeerEvent.Fault.CORRUPT));
        return;
      }
      events.add(new PeerEvent.PieceFetched(piece, peerId, System.nanoTime() - start));
    } catch (StoreWriteException e) {
      events.add(new PeerEvent.StoreFailed(piece.getNumber(), e.getMessage()));
    }
  }

  private String hostPort() {
    String ip = host.getIp();
    return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + host.getUploadPort();
  }
}
