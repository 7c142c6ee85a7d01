package io.dfly.daemon.storage;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Pools of direct buffers for piece transfers. Fetches run on short-lived virtual threads, so
 * thread-locals would allocate per fetch; direct memory is slow to allocate and freed late.
 * Buffers start on a page boundary, as direct I/O needs.
 */
final class DirectBuffers {
  static final int ALIGNMENT = 4096;
  /** Piece fetches and checks: a buffer is filled from a socket, then written at once. */
  static final DirectBuffers TRANSFERS = new DirectBuffers(256 * 1024, 64);
  /** Direct reads for uploads: larger, since each read past the page cache is a round trip to the disk. */
  static final DirectBuffers UPLOADS = new DirectBuffers(1024 * 1024, 16);

  final int size;
  private final int keep;
  private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
  private final AtomicInteger freeCount = new AtomicInteger();

  private DirectBuffers(int size, int keep) {
    this.size = size;
    this.keep = keep;
  }

  ByteBuffer take() {
    ByteBuffer buffer = free.poll();
    if (buffer == null) {
      return ByteBuffer.allocateDirect(size + ALIGNMENT).alignedSlice(ALIGNMENT);
    }
    freeCount.decrementAndGet();
    return buffer.clear();
  }

  void give(ByteBuffer buffer) {
    if (freeCount.incrementAndGet() <= keep) {
      free.offer(buffer);
    } else {
      freeCount.decrementAndGet();
    }
  }
}
