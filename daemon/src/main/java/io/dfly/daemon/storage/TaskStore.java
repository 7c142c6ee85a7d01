package io.dfly.daemon.storage;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Piece;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.piece.PieceMath;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * One task's bytes and piece bookkeeping on disk: a data file written at piece offsets, and
 * the finished pieces with their digests. Pieces are written by any thread through positional
 * writes; the bookkeeping is guarded by this object's monitor, whose {@link #awaitChange}
 * lets piece-sync streams wait for new pieces.
 */
public final class TaskStore {
  /** The most one {@link #readDirect} returns. */
  public static final int MAX_DIRECT_READ = DirectBuffers.UPLOADS.size;
  private final String taskId;
  private final Path dir;
  private final FileChannel channel;
  /** The same file opened for direct I/O (past the page cache), or null; see {@link PieceStore}. */
  private final FileChannel direct;
  /** Offsets, lengths and buffer addresses of direct I/O are multiples of this; 0 without it. */
  private final int alignment;
  private final ReentrantLock writeTurn = new ReentrantLock();
  private final TrafficCounters traffic = new TrafficCounters();
  private final TreeMap<Integer, Piece> finished = new TreeMap<>();
  private long contentLength = -1;
  private long pieceLength = -1;
  private boolean complete;
  private long version;
  private Download download;
  private boolean pinned;
  /** Pieces finished since the last checkpoint. */
  private boolean dirty;
  private long dataModifiedMillis;
  private volatile long lastAccessMillis = System.currentTimeMillis();
  /** One metadata writer at a time (conductor, checkpoints, pinning), outside the state monitor. */
  private final Object metadataWrites = new Object();

  TaskStore(String taskId, Path dir, int directAlignment) throws IOException {
    this.taskId = taskId;
    this.dir = dir;
    Files.createDirectories(dir);
    this.channel = FileChannel.open(dataPath(),
        StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    this.direct = directAlignment > 0 ? PieceStore.openDirect(dataPath()) : null;
    this.alignment = directAlignment;
  }

  /** Restores a task, finished or not, from its metadata. */
  static TaskStore restore(String taskId, Path dir, TaskMetadata metadata, int directAlignment) throws IOException {
    TaskStore store = new TaskStore(taskId, dir, directAlignment);
    store.contentLength = metadata.contentLength();
    store.pieceLength = metadata.pieceLength();
    for (TaskMetadata.PieceRecord p : metadata.pieces()) {
      store.finished.put(p.number(), p.toPiece());
    }
    store.traffic.restore(metadata.traffic());
    store.complete = metadata.complete();
    store.download = metadata.downloadRequest();
    store.pinned = metadata.pinned();
    store.dataModifiedMillis = metadata.dataModifiedMillis();
    store.touchAt(Files.getLastModifiedTime(dir.resolve(TaskMetadata.FILE_NAME)).toMillis());
    return store;
  }

  /** The request this task was downloaded for, or null (imported files, old records). */
  public synchronized Download download() {
    return download;
  }

  /** Records the request on first use, so that a restart can resume the task. */
  public synchronized void recordDownload(Download request) {
    if (download == null) {
      download = request;
    }
  }

  public synchronized boolean isPinned() {
    return pinned;
  }

  public synchronized void pin() {
    pinned = true;
  }

  /** Notes a use (download, cache hit, upload) for least-recently-used eviction. */
  public void touch() {
    touchAt(System.currentTimeMillis());
  }

  void touchAt(long millis) {
    lastAccessMillis = millis;
  }

  public long lastAccessMillis() {
    return lastAccessMillis;
  }

  /** Bytes this task holds on disk. */
  public synchronized long sizeOnDisk() {
    return complete ? contentLength : finishedBytes();
  }

  /**
   * For a complete task: the data file still has its length and the mtime it had at completion.
   * An output hard-linked to it could have been written to; such a copy is not served again.
   */
  public synchronized boolean isIntact() {
    try {
      return Files.size(dataPath()) == contentLength
          && Files.getLastModifiedTime(dataPath()).toMillis() == dataModifiedMillis;
    } catch (IOException e) {
      return false;
    }
  }

  public String taskId() {
    return taskId;
  }

  public Path dataPath() {
    return dir.resolve("data");
  }

  public TrafficCounters traffic() {
    return traffic;
  }

  /**
   * Fixes how the task is cut. Called once the content length (or, for an origin that does not
   * say, at least the piece length) is known; a later call must agree.
   */
  public synchronized void setLayout(long newContentLength, long newPieceLength) {
    if (pieceLength > 0 && pieceLength != newPieceLength) {
      throw new IllegalStateException("task " + taskId + " is cut in pieces of " + pieceLength
          + " bytes, not " + newPieceLength);
    }
    if (contentLength >= 0 && newContentLength >= 0 && contentLength != newContentLength) {
      throw new IllegalStateException("task " + taskId + " has " + contentLength
          + " bytes, not " + newContentLength);
    }
    pieceLength = newPieceLength;
    if (newContentLength >= 0) {
      contentLength = newContentLength;
    }
    version++;
    notifyAll();
  }

  public synchronized long contentLength() {
    return contentLength;
  }

  public synchronized long pieceLength() {
    return pieceLength;
  }

  /** Number of pieces, or -1 while the content length is unknown. */
  public synchronized int pieceCount() {
    return contentLength < 0 || pieceLength <= 0 ? -1 : PieceMath.pieceCount(contentLength, pieceLength);
  }

  public synchronized boolean isFinished(int number) {
    return finished.containsKey(number);
  }

  public synchronized int finishedCount() {
    return finished.size();
  }

  public synchronized long finishedBytes() {
    long sum = 0;
    for (Piece piece : finished.values()) {
      sum += piece.getLength();
    }
    return sum;
  }

  public synchronized List<Piece> finishedPieces() {
    return new ArrayList<>(finished.values());
  }

  public synchronized boolean isComplete() {
    return complete;
  }

  public synchronized long version() {
    return version;
  }

  /** Waits until the store changes after {@code seenVersion}, or the timeout passes. */
  public synchronized long awaitChange(long seenVersion, long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (version == seenVersion) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        break;
      }
      wait(left);
    }
    return version;
  }

  /** True when every byte of [first, last] lies in finished pieces. */
  public synchronized boolean hasRange(long first, long last) {
    if (pieceLength <= 0) {
      return false;
    }
    for (long n = first / pieceLength; n <= last / pieceLength; n++) {
      if (!finished.containsKey((int) n)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads one piece from {@code in} into the data file and returns it with its digest. With
   * {@code exact} the stream must hold exactly {@code length} bytes; otherwise it may end early
   * (the last piece of content of unknown length) and an empty result means it had nothing.
   * Bytes go through a pooled direct buffer: one copy from the socket, one into the page cache.
   *
   * @throws StoreWriteException when this host cannot write (disk full, I/O error), as opposed
   *     to the source failing
   */
  public Piece readPiece(ReadableByteChannel in, int number, long offset, long length, boolean exact)
      throws IOException {
    return readPiece(in, number, offset, length, exact, null);
  }

  /** As {@link #readPiece(ReadableByteChannel, int, long, long, boolean)}, paced by {@code limiter}. */
  public Piece readPiece(ReadableByteChannel in, int number, long offset, long length, boolean exact,
      RateLimiter limiter) throws IOException {
    ByteBuffer buffer = DirectBuffers.TRANSFERS.take();
    try {
      CRC32C crc = new CRC32C();
      long written = 0;
      boolean ended = false;
      while (written < length && !ended) {
        // Fill the buffer before writing: fewer, larger writes take the file's lock less often.
        buffer.clear().limit((int) Math.min(buffer.capacity(), length - written));
        while (buffer.hasRemaining()) {
          int n = in.read(buffer);
          if (n < 0) {
            ended = true;
            break;
          }
          if (n > 0 && limiter != null) {
            acquire(limiter, n);
          }
        }
        if (buffer.position() == 0) {
          break;
        }
        buffer.flip();
        int n = buffer.remaining();
        crc.update(buffer.duplicate());
        writeFully(buffer, offset + written);
        written += n;
      }
      if (exact && written != length) {
        throw new IOException("piece " + number + " ended after " + written + " of " + length + " bytes");
      }
      return Piece.newBuilder()
          .setNumber(number)
          .setOffset(offset)
          .setLength(written)
          .setDigest(String.format("%08x", crc.getValue()))
          .build();
    } finally {
      DirectBuffers.TRANSFERS.give(buffer);
    }
  }

  private static void acquire(RateLimiter limiter, int bytes) throws java.io.InterruptedIOException {
    try {
      limiter.acquire(bytes);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for download bandwidth");
    }
  }

  /**
   * Writes of one task file take turns here: the kernel serialises them on the file's lock anyway,
   * and its waiters spin on the CPU, while a thread waiting here parks and leaves the core to the
   * transfers that are receiving or checking bytes.
   */
  private void writeFully(ByteBuffer bytes, long position) throws StoreWriteException {
    // Whole aligned blocks go past the page cache when direct I/O is on; a piece's ragged end
    // (the file's last block) takes the page cache, which the kernel keeps coherent with it.
    FileChannel to = isAligned(bytes, position) ? direct : channel;
    writeTurn.lock();
    try {
      while (bytes.hasRemaining()) {
        position += to.write(bytes, position);
      }
    } catch (IOException e) {
      throw new StoreWriteException("cannot write task " + taskId + " to " + dir + ": " + e.getMessage(), e);
    } finally {
      writeTurn.unlock();
    }
  }

  /** Records a verified piece; its bytes must already be in the data file. */
  public synchronized void markFinished(Piece piece) {
    if (finished.putIfAbsent(piece.getNumber(), piece) == null) {
      dirty = true;
      version++;
      notifyAll();
    }
  }

  /**
   * Marks the task complete and writes its metadata, so that a restarted daemon still serves
   * it. The data is not forced here (that would cost a full write-back per task): a process
   * crash keeps it in the page cache, and after a machine crash {@link PieceStore} verifies
   * every recorded piece before trusting it.
   */
  public void markComplete() throws IOException {
    synchronized (metadataWrites) {
      TaskMetadata metadata;
      synchronized (this) {
        if (complete) {
          return;
        }
        dataModifiedMillis = Files.getLastModifiedTime(dataPath()).toMillis();
        metadata = metadata(true);
      }
      metadata.write(dir.resolve(TaskMetadata.FILE_NAME));
      synchronized (this) {
        complete = true;
        dirty = false;
        version++;
        notifyAll();
      }
    }
  }

  /**
   * Records the pieces finished so far, for an unfinished task, so that a crash or restart
   * loses at most the pieces since the last checkpoint.
   */
  public void checkpoint() throws IOException {
    synchronized (metadataWrites) {
      TaskMetadata metadata;
      synchronized (this) {
        if (complete || !dirty || download == null) {
          return;
        }
        dirty = false;
        metadata = metadata(false);
      }
      metadata.write(dir.resolve(TaskMetadata.FILE_NAME));
    }
  }

  private boolean isAligned(ByteBuffer bytes, long position) {
    return direct != null && position % alignment == 0 && bytes.remaining() % alignment == 0
        && bytes.isDirect() && bytes.alignmentOffset(bytes.position(), alignment) == 0;
  }

  /** The block size direct reads of this task must be aligned to, or 0 when the store uses the page cache. */
  public int directAlignment() {
    return direct == null ? 0 : alignment;
  }

  /**
   * Reads {@code length} bytes at {@code position} (a multiple of {@link #directAlignment()}, at
   * most {@link #MAX_DIRECT_READ}) past the page cache, into a pooled buffer to give back with
   * {@link #release}. Uploads use it so that a store kept out of the page cache stays out of it.
   */
  public ByteBuffer readDirect(long position, int length) throws IOException {
    if (direct == null || position % alignment != 0 || length > MAX_DIRECT_READ) {
      throw new IllegalArgumentException("no direct read of " + length + " bytes at " + position + " in " + taskId);
    }
    ByteBuffer buffer = DirectBuffers.UPLOADS.take();
    try {
      // Whole blocks are read; only the end of the file may cut the last one short.
      buffer.limit((int) Math.min(buffer.capacity(), ((long) length + alignment - 1) / alignment * alignment));
      while (buffer.position() < length) {
        int n = direct.read(buffer, position + buffer.position());
        if (n <= 0 || n % alignment != 0 && buffer.position() < length) {
          throw new IOException("task " + taskId + " data ends before " + (position + length));
        }
      }
      return buffer.flip().limit(length);
    } catch (IOException | RuntimeException e) {
      DirectBuffers.UPLOADS.give(buffer);
      throw e;
    }
  }

  /** Gives back a buffer from {@link #readDirect}. */
  public static void release(ByteBuffer buffer) {
    DirectBuffers.UPLOADS.give(buffer);
  }

  /** Forces the data to disk, for a clean shutdown. */
  void force() throws IOException {
    channel.force(false);
  }

  /**
   * Checks every recorded piece against its digest and forgets those that do not match (bytes
   * a machine crash lost); a complete task with such a piece becomes unfinished and resumable.
   * Returns how many pieces were dropped.
   */
  int verifyPieces() throws IOException {
    List<Piece> pieces = finishedPieces();
    List<Integer> bad = new ArrayList<>();
    ByteBuffer buffer = DirectBuffers.TRANSFERS.take();
    try {
      for (Piece piece : pieces) {
        CRC32C crc = new CRC32C();
        long done = 0;
        while (done < piece.getLength()) {
          buffer.clear().limit((int) Math.min(buffer.capacity(), piece.getLength() - done));
          int n = channel.read(buffer, piece.getOffset() + done);
          if (n <= 0) {
            break;
          }
          buffer.flip();
          crc.update(buffer);
          done += n;
        }
        if (done != piece.getLength() || !String.format("%08x", crc.getValue()).equals(piece.getDigest())) {
          bad.add(piece.getNumber());
        }
      }
    } finally {
      DirectBuffers.TRANSFERS.give(buffer);
    }
    if (!bad.isEmpty()) {
      synchronized (this) {
        bad.forEach(finished::remove);
        complete = false;
        dirty = true;
        version++;
      }
      saveMetadata();
    }
    return bad.size();
  }

  /** Rewrites the metadata after a change such as pinning. */
  void saveMetadata() throws IOException {
    synchronized (metadataWrites) {
      TaskMetadata metadata;
      synchronized (this) {
        metadata = metadata(complete);
      }
      metadata.write(dir.resolve(TaskMetadata.FILE_NAME));
    }
  }

  private TaskMetadata metadata(boolean completeNow) {
    return TaskMetadata.of(contentLength, pieceLength, finished.values(), traffic.snapshot(), completeNow,
        download, pinned, dataModifiedMillis);
  }

  Path dir() {
    return dir;
  }

  void close() {
    try (FileChannel data = channel; FileChannel past = direct) {
      // both closed here
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
