package io.dfly.daemon.peer;

import static io.dfly.daemon.peer.PeerHarness.candidate;
import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.CandidateParent;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.storage.TaskStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The piece engine of one download against real parents and a stand-in scheduler. */
class PeerTaskTest {
  private static final int PIECE_LENGTH = 16 * 1024;
  private static final int PIECES = 8;

  @TempDir
  Path dir;
  private PeerHarness harness;
  private HangingUploadServer hanging;
  private HangingUploadServer hangingSeed;

  @BeforeEach
  void start() throws Exception {
    harness = new PeerHarness(dir);
  }

  @AfterEach
  void stop() throws Exception {
    if (hanging != null) {
      hanging.close();
    }
    if (hangingSeed != null) {
      hangingSeed.close();
    }
    harness.close();
  }

  private static byte[] content(long seed) {
    byte[] content = new byte[PIECES * PIECE_LENGTH];
    new Random(seed).nextBytes(content);
    return content;
  }

  @Test
  void aParentThatStallsIsDroppedAtOnceWithItsOtherFetchesAndOnlyItsStalledPieceIsBlamed() throws Exception {
    byte[] content = content(11);
    Download download = PeerHarness.download("stalling-parent");
    Host good = harness.parent("good", TaskId.of(download), content, PIECE_LENGTH);
    // The same piece list as the good parent, but an upload port where the first piece stalls
    // and the others crawl, a byte at a time: those only end when the child cancels them.
    hanging = new HangingUploadServer(content);
    CandidateParent stalled = candidate("stalled-peer", good.toBuilder().setId("stalled")
        .setUploadPort(hanging.port()).build());
    DaemonConfig config = new DaemonConfig();
    config.pieceTimeoutSeconds = 3;
    config.perParentConcurrency = 2;
    TaskManager child = harness.downloader("child", config);

    CompletableFuture<TaskStore> done = child.download(download);
    harness.awaitRequest(AnnouncePeerRequest::hasRegister);
    // The stalled parent alone first, so it gets its full share of fetches whatever the timing;
    // the good one joins long before the first fetch stalls (one piece timeout after it started).
    harness.offer(stalled);
    hanging.awaitRequests(config.perParentConcurrency);
    harness.offer(stalled, candidate("good-peer", good));

    // The crawling fetch never times out: only the drop on the stall closes its connection.
    hanging.awaitAllClosed();
    assertThat(done).succeedsWithin(Poll.DEADLINE);
    assertThat(Files.readAllBytes(done.join().dataPath())).isEqualTo(content);
    assertThat(hanging.requests()).as("piece requests that reached the stalled parent: none after the drop")
        .isEqualTo(config.perParentConcurrency);
    harness.awaitRequest(AnnouncePeerRequest::hasPeerFinished);
    // One report: the stalled piece; the cancelled fetch's piece went to the good parent unblamed.
    assertThat(harness.seen()).filteredOn(AnnouncePeerRequest::hasPieceFailed)
        .extracting(AnnouncePeerRequest::getPieceFailed)
        .singleElement()
        .satisfies(failed -> {
          assertThat(failed.getParentId()).isEqualTo("stalled-peer");
          assertThat(failed.getStalled()).as("reported as stalled").isTrue();
          assertThat(failed.getCorrupt()).as("reported as corrupt").isFalse();
        });
  }

  @Test
  void aPeerWithOtherParentsKeepsTwoPiecesInFlightAtTheSeedPeer() throws Exception {
    Download download = PeerHarness.download("seed-share");
    Host lister = harness.parent("lister", TaskId.of(download), content(12), PIECE_LENGTH);
    // Both parents list every piece (through a real parent's piece stream) and answer no piece
    // request, so each fetch stays in flight and the counts show what the child asked of each.
    hanging = new HangingUploadServer(null);
    hangingSeed = new HangingUploadServer(null);
    CandidateParent peer = candidate("peer", lister.toBuilder().setId("peer").setUploadPort(hanging.port()).build());
    CandidateParent seed = candidate("seed", lister.toBuilder().setId("seed").setType(HostType.HOST_TYPE_SEED)
        .setUploadPort(hangingSeed.port()).build());
    DaemonConfig config = new DaemonConfig();
    config.pieceTimeoutSeconds = 60;
    config.perParentConcurrency = 2;
    config.pieceConcurrency = 16;
    TaskManager child = harness.downloader("child", config);

    child.download(download);
    harness.awaitRequest(AnnouncePeerRequest::hasRegister);
    harness.offer(peer, seed);
    hanging.awaitRequests(config.perParentConcurrency);
    hangingSeed.awaitRequests(2);
    // Eight pieces and room for 16: the seed peer is held to its two beside another peer. The
    // counts can only grow, so a while later they show whether the child asked for more.
    Thread.sleep(500);
    assertThat(hangingSeed.requests()).isEqualTo(2);
    assertThat(hanging.requests()).isEqualTo(config.perParentConcurrency);
  }
}
