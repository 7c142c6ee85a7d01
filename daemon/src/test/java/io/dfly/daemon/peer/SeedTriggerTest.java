package io.dfly.daemon.peer;

import static io.dfly.daemon.peer.PeerHarness.candidate;
import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.SyncPiecesRequest;
import io.dfly.api.dfdaemon.v1.SyncPiecesResponse;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A seed peer triggered by the scheduler, which offers it to children under the peer id the
 * trigger carries before the trigger has even arrived: it registers under that id, and its
 * piece lists wait for the task to start rather than telling an early child it is not there.
 */
class SeedTriggerTest {
  private static final int PIECE_LENGTH = 16 * 1024;
  private static final int PIECES = 4;

  @TempDir
  Path dir;
  private PeerHarness harness;
  private ManagedChannel channel;
  private final byte[] content = new byte[PIECES * PIECE_LENGTH];

  @BeforeEach
  void start() throws Exception {
    harness = new PeerHarness(dir);
    new Random(5).nextBytes(content);
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    harness.close();
  }

  @Test
  void aChildThatAsksForPiecesBeforeTheTriggerArrivesGetsThemOnceTheTaskStarts() throws Exception {
    Download download = PeerHarness.download("early-child");
    String taskId = TaskId.of(download);
    PeerHarness.Seed seed = harness.seed("seed");
    Host holder = harness.parent("holder", taskId, content, PIECE_LENGTH);

    BlockingQueue<Object> sync = syncPieces(seed.host(), taskId);
    assertThat(sync.poll(500, TimeUnit.MILLISECONDS)).as("the child waits; no NOT_FOUND").isNull();

    seed.tasks().seed(download, "seed-peer-1");
    AnnouncePeerRequest registration = harness.awaitRequest(AnnouncePeerRequest::hasRegister);
    assertThat(registration.getPeerId()).as("the id the scheduler chose").isEqualTo("seed-peer-1");
    harness.offer(candidate("holder-peer", holder)); // the seed peer's source, in place of the origin

    int announced = 0;
    for (Object event = next(sync); event != COMPLETED; event = next(sync)) {
      assertThat(event).isInstanceOf(SyncPiecesResponse.class);
      announced += ((SyncPiecesResponse) event).getPiecesCount();
    }
    assertThat(announced).isEqualTo(PIECES);
  }

  @Test
  void aTriggerForATaskCompleteHereAnnouncesItUnderThePeerIdItCarries() throws Exception {
    Download download = PeerHarness.download("complete-at-the-seed");
    PeerHarness.Seed seed = harness.seed("seed");
    TaskStore store = seed.tasks().pieceStore().open(TaskId.of(download));
    store.recordDownload(download);
    PeerHarness.fill(store, content, PIECE_LENGTH);

    seed.tasks().seed(download, "seed-peer-2");
    AnnouncePeerRequest registration = harness.awaitRequest(AnnouncePeerRequest::hasRegister);
    assertThat(registration.getPeerId()).isEqualTo("seed-peer-2");
    assertThat(registration.getRegister().getFinishedPiecesList()).hasSize(PIECES);
    assertThat(harness.awaitRequest(AnnouncePeerRequest::hasPeerFinished).getPeerId()).isEqualTo("seed-peer-2");
  }

  private static final Object COMPLETED = new Object();

  /** Opens a child's piece stream from {@code host}; its responses, its error or {@link #COMPLETED} arrive in the queue. */
  private BlockingQueue<Object> syncPieces(Host host, String taskId) throws InterruptedException {
    channel = ManagedChannelBuilder.forAddress(host.getIp(), host.getGrpcPort()).usePlaintext().build();
    // Connected first, so that the request reaches the seed peer while the test still waits.
    Poll.until(() -> channel.getState(true) == ConnectivityState.READY, "a connection to the seed peer");
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    DfdaemonPeerGrpc.newStub(channel).syncPieces(
        SyncPiecesRequest.newBuilder().setTaskId(taskId).setRequesterPeerId("child-peer").build(),
        new StreamObserver<>() {
          @Override
          public void onNext(SyncPiecesResponse response) {
            events.add(response);
          }

          @Override
          public void onError(Throwable t) {
            events.add(t);
          }

          @Override
          public void onCompleted() {
            events.add(COMPLETED);
          }
        });
    return events;
  }

  private static Object next(BlockingQueue<Object> events) throws InterruptedException {
    Object event = events.poll(Poll.DEADLINE.toSeconds(), TimeUnit.SECONDS);
    assertThat(event).as("the piece stream's next event").isNotNull();
    return event;
  }
}
