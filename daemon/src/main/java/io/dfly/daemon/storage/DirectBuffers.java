package io.dfly.daemon.storage;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pool of direct buffers for piece transfers. Fetches run on short-lived virtual threads, so
 * thread-locals would allocate per fetch; direct memory is slow to allocate and freed late.
 */
final class DirectBuffers {
  static final int SIZE = 256 * 1024;
  private static final int KEEP = 64;
  private static final ConcurrentLinkedQueue<ByteBuffer> FREE = new ConcurrentLinkedQueue<>();
  private static final AtomicInteger FREE_COUNT = new AtomicInteger();

  private DirectBuffers() {}

  static ByteBuffer take() {
    ByteBuffer buffer = FREE.poll();
    if (buffer == null) {
      return ByteBuffer.allocateDirect(SIZE);
    }
    FREE_COUNT.decrementAndGet();
    return buffer.clear();
  }

  static void give(ByteBuffer buffer) {
    if (FREE_COUNT.incrementAndGet() <= KEEP) {
      FREE.offer(buffer);
    } else {
      FREE_COUNT.decrementAndGet();
    }
  }
}
