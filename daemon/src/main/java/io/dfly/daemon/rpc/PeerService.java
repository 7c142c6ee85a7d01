package io.dfly.daemon.rpc;

import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.SyncPiecesRequest;
import io.dfly.api.dfdaemon.v1.SyncPiecesResponse;
import io.dfly.api.dfdaemon.v1.TriggerDownloadRequest;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What this daemon offers other peers and the scheduler: piece lists and seed triggers. */
public final class PeerService extends DfdaemonPeerGrpc.DfdaemonPeerImplBase {
  private static final Logger log = LoggerFactory.getLogger(PeerService.class);
  private static final long POLL_MILLIS = 1000;

  private final TaskManager tasks;
  private final boolean seedPeer;

  public PeerService(TaskManager tasks, boolean seedPeer) {
    this.tasks = tasks;
    this.seedPeer = seedPeer;
  }

  @Override
  public void syncPieces(SyncPiecesRequest request, StreamObserver<SyncPiecesResponse> responses) {
    TaskStore store = tasks.pieceStore().find(request.getTaskId());
    if (store == null) {
      responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId() + " is not here")
          .asRuntimeException());
      return;
    }
    ServerCallStreamObserver<SyncPiecesResponse> stream = (ServerCallStreamObserver<SyncPiecesResponse>) responses;
    stream.setOnCancelHandler(() -> { });
    Thread.ofVirtual().name("sync-" + request.getRequesterPeerId()).start(() -> streamPieces(store, stream));
  }

  /** Sends the layout and every finished piece, then each new piece, until all are sent. */
  private void streamPieces(TaskStore store, ServerCallStreamObserver<SyncPiecesResponse> stream) {
    BitSet sent = new BitSet();
    long sentLength = Long.MIN_VALUE;
    try {
      while (!stream.isCancelled()) {
        long version = store.version();
        boolean complete = store.isComplete();
        List<Piece> fresh = new ArrayList<>();
        for (Piece piece : store.finishedPieces()) {
          if (!sent.get(piece.getNumber())) {
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
        if (complete) {
          stream.onCompleted();
          return;
        }
        if (!tasks.isDownloading(store.taskId())) {
          stream.onError(Status.ABORTED.withDescription("task stopped downloading here").asRuntimeException());
          return;
        }
        store.awaitChange(version, POLL_MILLIS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.debug("piece sync of task {} ended: {}", store.taskId(), e.getMessage());
    }
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
      log.info("seed trigger for task {} ({})", taskId, request.getDownload().getUrl());
      tasks.download(request.getDownload());
      responses.onNext(Empty.getDefaultInstance());
      responses.onCompleted();
    } catch (IllegalArgumentException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    }
  }
}
