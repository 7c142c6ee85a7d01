package io.dfly.daemon.rpc;

import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.SyncPiecesRequest;
import io.dfly.api.dfdaemon.v1.SyncPiecesResponse;
import io.dfly.api.dfdaemon.v1.TriggerDownloadRequest;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.upload.SeedHandout;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What this daemon offers other peers and the scheduler: piece lists and seed triggers. */
public final class PeerService extends DfdaemonPeerGrpc.DfdaemonPeerImplBase {
  private static final Logger log = LoggerFactory.getLogger(PeerService.class);
  private static final long POLL_MILLIS = 1000;

  /** How long a seed peer's piece stream waits for a triggered task to start here. */
  private static final Duration SEED_START_WAIT = Duration.ofSeconds(3);

  /** How often a seed's piece stream looks for new pieces while it hands pieces out. */
  private static final long HANDOUT_POLL_MILLIS = 50;

  private final TaskManager tasks;
  private final boolean seedPeer;
  /** A seed peer's super-seeding; null on other peers. */
  private final SeedHandout handouts;

  public PeerService(TaskManager tasks, SeedHandout handouts) {
    this.tasks = tasks;
    this.seedPeer = handouts != null;
    this.handouts = handouts;
  }

  @Override
  public void syncPieces(SyncPiecesRequest request, StreamObserver<SyncPiecesResponse> responses) {
    ServerCallStreamObserver<SyncPiecesResponse> stream = (ServerCallStreamObserver<SyncPiecesResponse>) responses;
    stream.setOnCancelHandler(() -> { });
    String child = request.getRequesterPeerId();
    Thread.ofVirtual().name("sync-" + child).start(() -> syncPieces(request.getTaskId(), child, stream));
  }

  private void syncPieces(String taskId, String child, ServerCallStreamObserver<SyncPiecesResponse> stream) {
    TaskStore store;
    try {
      // The scheduler offers a seed peer as soon as it triggers it: its children may come first.
      store = tasks.awaitTask(taskId, seedPeer ? SEED_START_WAIT : Duration.ZERO);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (store == null) {
      stream.onError(Status.NOT_FOUND.withDescription("task " + taskId + " is not here").asRuntimeException());
    } else {
      streamPieces(store, child, stream);
    }
  }

  /**
   * Sends the layout and every finished piece, then each new piece, until all are sent. A seed
   * peer sends, until its handout is open, only the pieces it offers this child.
   */
  private void streamPieces(TaskStore store, String child, ServerCallStreamObserver<SyncPiecesResponse> stream) {
    BitSet sent = new BitSet();
    long sentLength = Long.MIN_VALUE;
    SeedHandout.TaskHandout handout = null;
    try {
      while (!stream.isCancelled()) {
        long version = store.version();
        long handoutVersion = handout == null ? 0 : handout.version();
        boolean complete = store.isComplete();
        List<Piece> finished = store.finishedPieces();
        if (handouts != null && handout == null && store.pieceCount() > 0) {
          handout = handouts.task(store.taskId(), store.pieceLength(), store.pieceCount());
        }
        BitSet offered = handout == null ? null : handout.offer(child, numbers(finished), complete);
        List<Piece> fresh = new ArrayList<>();
        for (Piece piece : finished) {
          if (!sent.get(piece.getNumber()) && (offered == null || offered.get(piece.getNumber()))) {
            fresh.add(piece);
          }
        }
        long contentLength = store.contentLength();
        if (store.pieceLength() > 0 && (!fresh.isEmpty() || contentLength != sentLength)) {
          stream.onNext(SyncPiecesResponse.newBuilder()
              .setContentLength(contentLength)
              .setPieceLength(store.pieceLength())
              .setPieceCount(store.pieceCount())
              .addAllPieces(fresh)
              .build());
          fresh.forEach(p -> sent.set(p.getNumber()));
          sentLength = contentLength;
        }
        if (complete && sent.cardinality() >= store.pieceCount()) {
          stream.onCompleted();
          return;
        }
        if (!complete && !tasks.isDownloading(store.taskId())) {
          stream.onError(Status.ABORTED.withDescription("task stopped downloading here").asRuntimeException());
          return;
        }
        if (handout != null) {
          handout.awaitChange(handoutVersion, HANDOUT_POLL_MILLIS); // new pieces show up within the poll too
        } else {
          store.awaitChange(version, POLL_MILLIS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.debug("piece sync of task {} ended: {}", store.taskId(), e.getMessage());
    } finally {
      if (handout != null && handout.leave(child)) {
        handouts.forget(store.taskId());
      }
    }
  }

  private static BitSet numbers(List<Piece> pieces) {
    BitSet numbers = new BitSet();
    pieces.forEach(p -> numbers.set(p.getNumber()));
    return numbers;
  }

  @Override
  public void triggerDownload(TriggerDownloadRequest request, StreamObserver<Empty> responses) {
    if (!seedPeer) {
      responses.onError(Status.FAILED_PRECONDITION.withDescription("not a seed peer").asRuntimeException());
      return;
    }
    try {
      String taskId = TaskId.of(request.getDownload());
      if (!request.getTaskId().isEmpty() && !request.getTaskId().equals(taskId)) {
        throw new IllegalArgumentException("task id " + request.getTaskId() + " does not match the download");
      }
      log.info("seed trigger for task {} ({}) as peer {}", taskId, request.getDownload().getUrl(),
          request.getPeerId().isEmpty() ? "(any)" : request.getPeerId());
      tasks.seed(request.getDownload(), request.getPeerId());
      responses.onNext(Empty.getDefaultInstance());
      responses.onCompleted();
    } catch (IllegalArgumentException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    }
  }
}
