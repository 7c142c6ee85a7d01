package io.dfly.scheduler.resource;

import java.util.concurrent.TimeUnit;

/**
 * How fast a parent delivers while it is busy: the bytes its children reported over the time at
 * least one of those pieces was in flight. A piece's own cost says little of the parent's uplink
 * (a thin uplink serving one piece at a time looks as fast per piece as a wide one serving
 * twenty), but the bytes it moves while busy are bounded by it. Both sums halve every half-life,
 * so the figure follows the parent's recent state. Reports arrive nearly in order of their ends;
 * a piece that ended before the last one counts only for what it adds past it.
 */
public final class UplinkMeter {
  private static final long HALF_LIFE_NANOS = TimeUnit.SECONDS.toNanos(10);

  private double bytes;
  private double busyNanos;
  private double pieceNanos;
  private long busyUntilNanos = Long.MIN_VALUE;
  private long agedAtNanos;
  private int pieces;

  /** A child reported, at {@code endNanos}, a piece of {@code length} bytes that took {@code costNanos}. */
  public void add(long endNanos, long costNanos, long length) {
    if (pieces == 0) {
      agedAtNanos = endNanos;
    } else if (endNanos - agedAtNanos >= HALF_LIFE_NANOS) {
      double factor = Math.pow(0.5, (endNanos - agedAtNanos) / (double) HALF_LIFE_NANOS);
      bytes *= factor;
      busyNanos *= factor;
      pieceNanos *= factor;
      agedAtNanos = endNanos;
    }
    long start = endNanos - costNanos;
    if (endNanos > busyUntilNanos) {
      busyNanos += endNanos - Math.max(start, busyUntilNanos);
      busyUntilNanos = endNanos;
    }
    bytes += length;
    pieceNanos += costNanos;
    pieces++;
  }

  /** Pieces recorded in all. */
  public int pieces() {
    return pieces;
  }

  /**
   * Pieces in flight on average while busy: about 1 for a parent asked for one piece at a time,
   * whose rate then says more about its children than about its uplink.
   */
  public double concurrency() {
    return busyNanos <= 0 ? Double.NaN : pieceNanos / busyNanos;
  }

  /** Bytes per second while busy; NaN before any piece with a cost. */
  public double bytesPerSecond() {
    return busyNanos <= 0 ? Double.NaN : bytes * 1e9 / busyNanos;
  }
}
