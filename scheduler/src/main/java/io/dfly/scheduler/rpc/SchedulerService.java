package io.dfly.scheduler.rpc;

import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Host;
import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnounceHostResponse;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.LeaveHostRequest;
import io.dfly.api.scheduler.v1.LeavePeerRequest;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.api.scheduler.v1.StatTaskRequest;
import io.dfly.api.scheduler.v1.TaskStat;
import io.dfly.scheduler.resource.KnownHost;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.scheduling.TaskScheduler;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The scheduler's gRPC face: translates stream messages into {@link TaskScheduler} events. */
public final class SchedulerService extends SchedulerGrpc.SchedulerImplBase {
  private static final Logger log = LoggerFactory.getLogger(SchedulerService.class);

  private final TaskScheduler scheduler;

  public SchedulerService(TaskScheduler scheduler) {
    this.scheduler = scheduler;
  }

  @Override
  public StreamObserver<AnnouncePeerRequest> announcePeer(StreamObserver<AnnouncePeerResponse> responses) {
    return new StreamObserver<>() {
      private String taskId;
      private String peerId;
      private Peer peer;

      @Override
      public void onNext(AnnouncePeerRequest request) {
        if (peerId == null && !request.hasRegister()) {
          fail(Status.FAILED_PRECONDITION.withDescription("register the peer first"));
          return;
        }
        switch (request.getRequestCase()) {
          case REGISTER -> {
            if (request.getTaskId().isEmpty() || request.getPeerId().isEmpty()) {
              fail(Status.INVALID_ARGUMENT.withDescription("a peer needs a task id and a peer id"));
              return;
            }
            KnownHost host = scheduler.host(request.getHostId());
            if (host == null) {
              fail(Status.FAILED_PRECONDITION.withDescription("host " + request.getHostId() + " is not announced"));
              return;
            }
            taskId = request.getTaskId();
            peerId = request.getPeerId();
            peer = scheduler.register(taskId, peerId, host, request.getRegister(), responses);
          }
          case PIECE_FINISHED -> scheduler.pieceFinished(peer, request.getPieceFinished());
          case PIECES_FINISHED -> scheduler.piecesFinished(peer, request.getPiecesFinished().getPiecesList());
          case PIECE_FAILED -> scheduler.pieceFailed(taskId, peerId, request.getPieceFailed().getParentId(),
              request.getPieceFailed().getCorrupt(), request.getPieceFailed().getStalled());
          case BACK_TO_SOURCE_STARTED -> scheduler.backToSourceStarted(taskId, peerId);
          case PEER_FINISHED -> scheduler.peerFinished(taskId, peerId, request.getPeerFinished());
          case PEER_FAILED -> scheduler.peerFailed(taskId, peerId, request.getPeerFailed().getReason(),
              request.getPeerFailed().getSourceError());
          case REQUEST_NOT_SET -> log.debug("empty request from peer {}", peerId);
        }
      }

      private void fail(Status status) {
        if (peer != null) { // it may be sending to the stream right now
          peer.closeStream(status.asRuntimeException());
        } else {
          responses.onError(status.asRuntimeException());
        }
      }

      @Override
      public void onError(Throwable t) {
        ended();
      }

      @Override
      public void onCompleted() {
        ended();
      }

      private void ended() {
        if (peerId != null) {
          scheduler.streamEnded(taskId, peerId, responses);
        }
      }
    };
  }

  @Override
  public void announceHost(AnnounceHostRequest request, StreamObserver<AnnounceHostResponse> responses) {
    Host host = request.getHost();
    if (host.getId().isEmpty() || host.getIp().isEmpty()) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription("a host needs an id and an ip").asRuntimeException());
      return;
    }
    boolean isNew = scheduler.announceHost(host, request.hasLoad() ? request.getLoad() : null);
    responses.onNext(AnnounceHostResponse.newBuilder().setNewHost(isNew).build());
    responses.onCompleted();
  }

  @Override
  public void leaveHost(LeaveHostRequest request, StreamObserver<Empty> responses) {
    scheduler.leaveHost(request.getHostId());
    responses.onNext(Empty.getDefaultInstance());
    responses.onCompleted();
  }

  @Override
  public void statTask(StatTaskRequest request, StreamObserver<TaskStat> responses) {
    scheduler.stat(request.getTaskId()).ifPresentOrElse(stat -> {
      responses.onNext(stat);
      responses.onCompleted();
    }, () -> responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId() + " is unknown")
        .asRuntimeException()));
  }

  @Override
  public void leavePeer(LeavePeerRequest request, StreamObserver<Empty> responses) {
    scheduler.leavePeer(request.getTaskId(), request.getPeerId());
    responses.onNext(Empty.getDefaultInstance());
    responses.onCompleted();
  }
}
