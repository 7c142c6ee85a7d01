package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.source.SourceResponse;
import io.dfly.daemon.storage.TaskStore;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** What the conductor of a {@link PeerTask} reacts to. */
sealed interface PeerEvent {

  /** {@code stream} numbers the scheduler stream it came on, so that answers of an abandoned one are told apart. */
  record Scheduled(int stream, AnnouncePeerResponse response) implements PeerEvent {}

  /**
   * A caller wants the task, or a range of it ({@code range} null for all of it); {@code inOrder}
   * when it reads the bytes as they arrive (a stream to stdout, a range).
   */
  record Wanted(io.dfly.common.net.ByteRange range, boolean inOrder, CompletableFuture<TaskStore> future)
      implements PeerEvent {}

  record SchedulerLost(int stream, String reason) implements PeerEvent {}

  /** The task's scheduler may have changed: one went down or came back up. */
  record SchedulerMoved() implements PeerEvent {}

  /** Layout and new pieces a parent announced; lengths are -1 while the parent does not know. */
  record ParentUpdate(String parentId, long contentLength, long pieceLength, List<Piece> pieces)
      implements PeerEvent {}

  /** A parent's piece stream ended: all announced when {@code error} is null, else gone. */
  record ParentEnded(String parentId, String error) implements PeerEvent {}

  /** A verified piece is in the store; {@code parentId} is null when it came from the origin. */
  record PieceFetched(Piece piece, String parentId, long costNanos) implements PeerEvent {}

  record PieceFetchFailed(int pieceNumber, String parentId, String reason, Fault fault)
      implements PeerEvent {}

  /** A fetch ended because its parent was dropped: no one is blamed, the piece goes elsewhere. */
  record PieceFetchCancelled(int pieceNumber, String parentId) implements PeerEvent {}

  /** How a piece fetch failed: what it says about the parent (or the origin) it came from. */
  enum Fault {
    /** An error that may pass: a refused or broken connection, an HTTP error. */
    FAILED,
    /** Bytes that do not match the piece's digest. */
    CORRUPT,
    /** No byte for the piece timeout: the parent hangs. */
    STALLED
  }

  /**
   * The origin answered: with ranges ({@code stream} null), or with the whole content in
   * {@code stream} because it ignores ranges.
   */
  record OriginProbed(long totalLength, SourceResponse stream) implements PeerEvent {}

  record OriginStreamEnded(long totalLength) implements PeerEvent {}

  record OriginFailed(String reason) implements PeerEvent {}

  /** This host could not store a piece (-1 when not one piece): the task fails, no parent is blamed. */
  record StoreFailed(int pieceNumber, String reason) implements PeerEvent {}
}
