package io.dfly.scheduler.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.PiecesFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.metrics.SchedulerMetrics;
import io.dfly.scheduler.scheduling.TaskScheduler;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The gRPC face over an in-process channel: host announcements with load, and bad registrations. */
class SchedulerServiceTest {
  private final TaskScheduler scheduler = new TaskScheduler(noSeedGrace(),
      (seed, task, peerId, download) -> CompletableFuture.completedFuture(null),
      new SchedulerMetrics(new SimpleMeterRegistry()), System::nanoTime);
  private final String name = InProcessServerBuilder.generateName();
  private final Server server;
  private final ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();

  private static SchedulerConfig noSeedGrace() {
    SchedulerConfig config = new SchedulerConfig();
    config.seedGraceSeconds = 0;
    return config;
  }

  SchedulerServiceTest() throws Exception {
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new SchedulerService(scheduler)).build().start();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void anAnnouncedLoadIsWhatTheSchedulerWeighsAndANewHostIsToldSo() {
    Host host = Host.newBuilder().setId("h1").setIp("10.0.0.1").setUploadLimit(100).build();
    var stub = SchedulerGrpc.newBlockingStub(channel);
    assertThat(stub.announceHost(AnnounceHostRequest.newBuilder().setHost(host).build()).getNewHost()).isTrue();
    assertThat(scheduler.host("h1").load()).isNull();
    assertThat(scheduler.host("h1").freeUploadShare()).isEqualTo(1);

    HostLoad load = HostLoad.newBuilder().setUploadSlotsInUse(75).setCpuUsage(0.5).setMemoryUsage(0.25).build();
    assertThat(stub.announceHost(AnnounceHostRequest.newBuilder().setHost(host).setLoad(load).build()).getNewHost())
        .isFalse();
    assertThat(scheduler.host("h1").load()).isEqualTo(load);
    assertThat(scheduler.host("h1").freeUploadShare()).isEqualTo(0.25);
  }

  @Test
  void aHostWithoutAnIdIsRefused() {
    var stub = SchedulerGrpc.newBlockingStub(channel);
    assertThatThrownBy(() -> stub.announceHost(AnnounceHostRequest.newBuilder()
        .setHost(Host.newBuilder().setIp("10.0.0.1")).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void aPeerMustRegisterWithATaskFromAnAnnouncedHostBeforeAnythingElse() throws Exception {
    SchedulerGrpc.newBlockingStub(channel).announceHost(AnnounceHostRequest.newBuilder()
        .setHost(Host.newBuilder().setId("h1").setIp("10.0.0.1")).build());
    Download download = Download.newBuilder().setUrl("http://origin/f").build();
    AnnouncePeerRequest.Builder register = AnnouncePeerRequest.newBuilder()
        .setRegister(RegisterPeer.newBuilder().setDownload(download));

    assertThat(refusal(register.clone().setHostId("h1").setPeerId("p1"))).contains("task id");
    assertThat(refusal(register.clone().setHostId("unknown").setTaskId("t").setPeerId("p1"))).contains("not announced");
    assertThat(refusal(AnnouncePeerRequest.newBuilder().setHostId("h1").setTaskId("t").setPeerId("p1")))
        .contains("register the peer first");
  }

  @Test
  void piecesReportedOnAPeersStreamReachTheScheduler() throws Exception {
    Piece piece = Piece.newBuilder().setNumber(0).setLength(2).setDigest("0badf00d").build();
    AnnouncePeerResponse answer = secondPeersAnswerToATinyTask(
        AnnouncePeerRequest.newBuilder().setPieceFinished(PieceFinished.newBuilder().setPiece(piece)));
    assertThat(answer.getTinyTask().getContent().toStringUtf8()).isEqualTo("hi");
    assertThat(answer.getTinyTask().getPiece()).isEqualTo(piece);
  }

  @Test
  void piecesReportedInOneMessageReachTheSchedulerToo() throws Exception {
    Piece piece = Piece.newBuilder().setNumber(0).setLength(2).setDigest("0badf00d").build();
    // The digest of piece 0 comes only in the batch; without it the task is not answered directly.
    AnnouncePeerResponse answer = secondPeersAnswerToATinyTask(AnnouncePeerRequest.newBuilder()
        .setPiecesFinished(PiecesFinished.newBuilder().addPieces(PieceFinished.newBuilder().setPiece(piece))));
    assertThat(answer.getTinyTask().getPiece()).isEqualTo(piece);
  }

  /**
   * A first peer of a two-byte task fetches it from the origin, reports its piece with {@code report}
   * and finishes; returns the answer to a second peer of the task.
   */
  private AnnouncePeerResponse secondPeersAnswerToATinyTask(AnnouncePeerRequest.Builder report) throws Exception {
    var blocking = SchedulerGrpc.newBlockingStub(channel);
    for (String id : new String[] {"h1", "h2"}) {
      blocking.announceHost(AnnounceHostRequest.newBuilder()
          .setHost(Host.newBuilder().setId(id).setIp("10.0.0.1")).build());
    }
    RegisterPeer register = RegisterPeer.newBuilder()
        .setDownload(Download.newBuilder().setUrl("http://origin/tiny")).build();
    LinkedBlockingQueue<AnnouncePeerResponse> first = new LinkedBlockingQueue<>();
    StreamObserver<AnnouncePeerRequest> p1 = SchedulerGrpc.newStub(channel).announcePeer(collect(first));
    p1.onNext(AnnouncePeerRequest.newBuilder().setHostId("h1").setTaskId("t").setPeerId("p1")
        .setRegister(register).build());
    assertThat(first.poll(5, TimeUnit.SECONDS).hasNeedBackToSource()).isTrue();
    p1.onNext(report.setHostId("h1").setTaskId("t").setPeerId("p1").build());
    p1.onNext(AnnouncePeerRequest.newBuilder().setHostId("h1").setTaskId("t").setPeerId("p1")
        .setPeerFinished(PeerFinished.newBuilder().setContentLength(2).setPieceCount(1)
            .setContent(com.google.protobuf.ByteString.copyFromUtf8("hi"))).build());
    p1.onCompleted();

    LinkedBlockingQueue<AnnouncePeerResponse> second = new LinkedBlockingQueue<>();
    StreamObserver<AnnouncePeerRequest> p2 = SchedulerGrpc.newStub(channel).announcePeer(collect(second));
    p2.onNext(AnnouncePeerRequest.newBuilder().setHostId("h2").setTaskId("t").setPeerId("p2")
        .setRegister(register).build());
    AnnouncePeerResponse answer = second.poll(5, TimeUnit.SECONDS);
    p2.onCompleted();
    return answer;
  }

  private static StreamObserver<AnnouncePeerResponse> collect(LinkedBlockingQueue<AnnouncePeerResponse> answers) {
    return new StreamObserver<>() {
      @Override
      public void onNext(AnnouncePeerResponse value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  /** Sends one request on a fresh peer stream; returns the description of the error that ends it. */
  private String refusal(AnnouncePeerRequest.Builder request) throws Exception {
    LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    StreamObserver<AnnouncePeerRequest> requests = SchedulerGrpc.newStub(channel).announcePeer(new StreamObserver<>() {
      @Override
      public void onNext(AnnouncePeerResponse value) {}

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {}
    });
    requests.onNext(request.build());
    Throwable error = errors.poll(5, TimeUnit.SECONDS);
    assertThat(error).isInstanceOf(StatusRuntimeException.class);
    return ((StatusRuntimeException) error).getStatus().getDescription();
  }
}
