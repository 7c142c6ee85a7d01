package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.Piece;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.source.http.BulkHttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Piece fetches from a parent that hangs: accepted connections that never answer. */
class ParentTest {
  @TempDir
  Path dataDir;
  private HangingUploadServer hanging;
  private PieceStore store;
  private BulkHttpClient http;

  @BeforeEach
  void startHangingParent() throws Exception {
    hanging = new HangingUploadServer(null);
  }

  @AfterEach
  void stop() throws Exception {
    if (http != null) {
      http.close();
    }
    if (store != null) {
      store.close();
    }
    hanging.close();
  }

  private Parent parent() {
    return new Parent("p1", Host.newBuilder().setIp("127.0.0.1").setUploadPort(hanging.port()).build());
  }

  private static Piece piece(int number) {
    return Piece.newBuilder().setNumber(number).setOffset(number * 1024L).setLength(1024).setDigest("0").build();
  }

  /**
   * Starts {@code count} piece fetches from the parent on virtual threads, through a client with
   * the given read timeout; their events arrive on the returned queue.
   */
  private BlockingQueue<PeerEvent> startFetches(Parent parent, Duration readTimeout, int count) throws Exception {
    store = new PieceStore(dataDir);
    http = new BulkHttpClient(Duration.ofSeconds(5), readTimeout);
    TaskStore task = store.open("t");
    BlockingQueue<PeerEvent> events = new LinkedBlockingQueue<>();
    for (int n = 0; n < count; n++) {
      Piece piece = piece(n);
      Thread.ofVirtual().start(() -> parent.fetch(http, null, "t", piece, task, null, events));
    }
    return events;
  }

  @Test
  void aPieceWithNoByteForTheTimeoutBlamesTheParentForStalling() throws Exception {
    BlockingQueue<PeerEvent> events = startFetches(parent(), Duration.ofSeconds(1), 1);
    assertThat(events.poll(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(PeerEvent.PieceFetchFailed.class,
        failed -> assertThat(failed.fault()).isEqualTo(PeerEvent.Fault.STALLED));
  }

  @Test
  void droppingAParentCancelsItsFetchesInFlightInsteadOfWaitingForTheTimeout() throws Exception {
    Parent parent = parent();
    BlockingQueue<PeerEvent> events = startFetches(parent, Duration.ofMinutes(5), 3);
    hanging.awaitRequests(3);
    parent.drop();
    for (int n = 0; n < 3; n++) {
      // Well before the five-minute read timeout: the drop closes their connections.
      assertThat(events.poll(30, TimeUnit.SECONDS)).isInstanceOf(PeerEvent.PieceFetchCancelled.class);
    }
  }
}
