package io.dfly.daemon.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.api.common.v1.Host;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.api.common.v1.Piece;
import io.dfly.common.net.HostPort;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import io.dfly.common.auth.ClusterToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Liveness and task ownership over real gRPC connections. The schedulers here are stand-ins
 * ({@link StandInScheduler}) that only take host announcements and open peer streams;
 * SchedulerFailoverTest covers the same with real scheduler processes.
 */
class SchedulerClientTest {
  private static final Host HOST = Host.newBuilder().setId("host-1").setIp("127.0.0.1").build();
  private static final List<String> TASKS = IntStream.range(0, 200).mapToObj(i -> "task-" + i).toList();

  private final List<StandInScheduler> schedulers = new ArrayList<>();
  /** Every peer-stream request the stand-in schedulers received. */
  private final BlockingQueue<AnnouncePeerRequest> received = new LinkedBlockingQueue<>();
  private SchedulerClient client;

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    schedulers.forEach(StandInScheduler::close);
  }

  @Test
  void aDeadSchedulersTasksMoveToTheOthersAndComeBackWhenItIsUpAgain() throws Exception {
    List<HostPort> addresses = List.of(start(0), start(0), start(0));
    client = new SchedulerClient(addresses, HOST, Duration.ZERO, ClusterToken.of(null, null));
    assertThat(client.announceHost()).isEqualTo(3);
    BlockingQueue<Predicate<String>> moves = new LinkedBlockingQueue<>();
    client.onTasksMoved(moves::add);
    Map<String, String> owners = owners();
    assertThat(owners).allSatisfy((task, owner) ->
        assertThat(owner).isEqualTo(SchedulerClient.ownerOf(addresses, task).toString()));
    assertThat(owners.values().stream().distinct()).as("tasks spread over all three").hasSize(3);

    HostPort dead = addresses.get(1);
    schedulers.get(1).kill();
    assertThat(client.announceHost()).isEqualTo(2);

    Predicate<String> movedAway = moves.poll(5, TimeUnit.SECONDS);
    assertThat(movedAway).isNotNull();
    Map<String, String> after = owners();
    for (String task : TASKS) {
      boolean wasOnDead = owners.get(task).equals(dead.toString());
      assertThat(movedAway.test(task)).as(task).isEqualTo(wasOnDead);
      if (wasOnDead) {
        assertThat(after.get(task)).isNotEqualTo(dead.toString())
            .isEqualTo(SchedulerClient.ownerOf(List.of(addresses.get(0), addresses.get(2)), task).toString());
      } else {
        assertThat(after.get(task)).as("a task of a live scheduler stays put").isEqualTo(owners.get(task));
      }
    }

    // Back on its port, it is found by the backoff probe without any announce from here.
    start(dead.port());
    Predicate<String> movedBack = moves.poll(20, TimeUnit.SECONDS);
    assertThat(movedBack).as("the probe found it up").isNotNull();
    assertThat(owners()).isEqualTo(owners);
    assertThat(TASKS.stream().filter(movedBack)).containsExactlyInAnyOrderElementsOf(
        TASKS.stream().filter(t -> owners.get(t).equals(dead.toString())).toList());
  }

  @Test
  void aBrokenPeerStreamMarksItsSchedulerDownAndWithNoneLeftTasksHaveNoScheduler() throws Exception {
    List<HostPort> addresses = List.of(start(0), start(0));
    client = new SchedulerClient(addresses, HOST, Duration.ZERO, ClusterToken.of(null, null));
    client.announceHost();
    String task = TASKS.get(0);
    int ownerIndex = addresses.indexOf(SchedulerClient.ownerOf(addresses, task));
    BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    SchedulerClient.PeerStream stream = client.announcePeer(task, failuresTo(errors));
    stream.requests().onNext(AnnouncePeerRequest.newBuilder().setTaskId(task).build());

    schedulers.get(ownerIndex).kill();
    assertThat(errors.poll(5, TimeUnit.SECONDS)).isNotNull();
    assertThat(client.announcePeer(task, failuresTo(errors)).scheduler())
        .as("registering again goes to the other one").isEqualTo(addresses.get(1 - ownerIndex).toString());

    schedulers.get(1 - ownerIndex).kill();
    client.announceHost();
    assertThatThrownBy(() -> client.announcePeer(task, failuresTo(errors)))
        .isInstanceOf(SchedulerClient.NoSchedulerException.class);
  }

  @Test
  void finishedPieceReportsTravelTogetherAndBeforeWhatFollowsThem() throws Exception {
    // A window of an hour: only the request after the reports sends them.
    client = new SchedulerClient(List.of(start(0)), HOST, Duration.ZERO, ClusterToken.of(null, null),
        Duration.ofHours(1));
    SchedulerClient.PeerStream stream = client.announcePeer("task-0", failuresTo(new LinkedBlockingQueue<>()));
    stream.requests().onNext(request().setRegister(RegisterPeer.getDefaultInstance()).build());
    for (int piece = 0; piece < 3; piece++) {
      stream.requests().onNext(pieceFinished(piece));
    }
    stream.requests().onNext(request().setPeerFinished(PeerFinished.newBuilder().setPieceCount(3)).build());
    stream.requests().onCompleted();

    assertThat(received.poll(5, TimeUnit.SECONDS).hasRegister()).isTrue();
    AnnouncePeerRequest batch = received.poll(5, TimeUnit.SECONDS);
    assertThat(batch.getPeerId()).isEqualTo("peer-1");
    assertThat(batch.getPiecesFinished().getPiecesList()).extracting(p -> p.getPiece().getNumber())
        .containsExactly(0, 1, 2);
    assertThat(batch.getPiecesFinished().getPieces(1).getParentId()).isEqualTo("parent-1");
    assertThat(received.poll(5, TimeUnit.SECONDS).hasPeerFinished()).isTrue();
  }

  @Test
  void gatheredReportsGoOutAfterTheWindowWithNothingAfterThem() throws Exception {
    client = new SchedulerClient(List.of(start(0)), HOST, Duration.ZERO, ClusterToken.of(null, null));
    SchedulerClient.PeerStream stream = client.announcePeer("task-0", failuresTo(new LinkedBlockingQueue<>()));
    stream.requests().onNext(pieceFinished(0));
    stream.requests().onNext(pieceFinished(1));
    List<Integer> reported = new ArrayList<>();
    while (reported.size() < 2) {
      AnnouncePeerRequest batch = received.poll(5, TimeUnit.SECONDS);
      assertThat(batch).as("reports sent without a request after them").isNotNull();
      batch.getPiecesFinished().getPiecesList().forEach(p -> reported.add(p.getPiece().getNumber()));
    }
    assertThat(reported).containsExactly(0, 1);
    stream.requests().onCompleted();
  }

  private static AnnouncePeerRequest.Builder request() {
    return AnnouncePeerRequest.newBuilder().setHostId(HOST.getId()).setTaskId("task-0").setPeerId("peer-1");
  }

  private static AnnouncePeerRequest pieceFinished(int number) {
    return request().setPieceFinished(PieceFinished.newBuilder().setParentId("parent-1")
        .setPiece(Piece.newBuilder().setNumber(number))).build();
  }

  private Map<String, String> owners() {
    return TASKS.stream().collect(Collectors.toMap(t -> t, t -> {
      SchedulerClient.PeerStream stream = client.announcePeer(t, failuresTo(new LinkedBlockingQueue<>()));
      stream.requests().onCompleted();
      return stream.scheduler();
    }));
  }

  private static StreamObserver<AnnouncePeerResponse> failuresTo(BlockingQueue<Throwable> errors) {
    return new StreamObserver<>() {
      @Override
      public void onNext(AnnouncePeerResponse response) {
      }

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {
      }
    };
  }

  /** A stand-in scheduler on {@code port} (0: any free one). */
  private HostPort start(int port) throws IOException {
    StandInScheduler scheduler = new StandInScheduler(port, received);
    schedulers.add(scheduler);
    return scheduler.address();
  }
}
