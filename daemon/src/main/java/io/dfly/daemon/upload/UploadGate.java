package io.dfly.daemon.upload;

import io.dfly.common.limit.RateLimiter;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** What all uploads of a host share: their rate, a cap on how many run at once, and a byte count. */
final class UploadGate {
  final RateLimiter rate;
  final int maxConcurrent;
  private final AtomicInteger active = new AtomicInteger();
  private final LongAdder uploaded = new LongAdder();

  UploadGate(RateLimiter rate, int maxConcurrent) {
    if (maxConcurrent < 1) {
      throw new IllegalArgumentException("maxConcurrentUploads must be at least 1, not " + maxConcurrent);
    }
    this.rate = rate;
    this.maxConcurrent = maxConcurrent;
  }

  /** Takes an upload slot if one is free; every true answer must be followed by one {@link #finish}. */
  boolean tryStart() {
    while (true) {
      int now = active.get();
      if (now >= maxConcurrent) {
        return false;
      }
      if (active.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  void finish() {
    active.decrementAndGet();
  }

  int active() {
    return active.get();
  }

  void countUploaded(long bytes) {
    uploaded.add(bytes);
  }

  long uploaded() {
    return uploaded.sum();
  }
}
