package io.dfly.common.limit;

import java.math.BigInteger;
import java.time.Duration;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * A token bucket in bytes per second, shared by everyone who draws from it (all uploads of a
 * host, or all fetches of one task).
 *
 * <p><b>Burst.</b> An idle bucket saves up at most {@code burst} worth of its rate (200 ms by
 * default), so a transfer starting after a pause may run that far ahead. The bytes whose wait
 * ends within any window of length T are at most {@code rate * (T + burst)}, so the long-run
 * average cannot exceed the rate.
 *
 * <p><b>Debt.</b> A draw never waits for more tokens than the bucket can hold: it takes all it
 * asks for at once, possibly leaving the bucket in debt, and its caller waits until that debt is
 * paid. Later draws queue behind the debt, so draws are served in the order they were made.
 *
 * <p><b>Hierarchy.</b> A {@link #child} draws from itself and from every ancestor and waits for
 * the slowest; the ancestors are charged when the draw is made, not when its wait ends.
 *
 * <p><b>Weighted shares.</b> A child made with a weight ({@link #child(long, int)}) draws from
 * the root bucket in weighted fair order instead, when it blocks in {@link #acquire}: blocked
 * draws queue at the root by a virtual finish tag (bytes over weight, per child), and the root
 * grants the lowest tag whenever it is out of debt. Children that keep drawing get the root's
 * rate in proportion to their weights; one drawing alone gets all of it.
 *
 * <p>A rate of 0 or less means unlimited: draws then take no lock and never wait.
 */
public final class RateLimiter {
  public static final Duration DEFAULT_BURST = Duration.ofMillis(200);

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** Caps any debt (about 73 years) so that arithmetic on clock values cannot overflow. */
  private static final long MAX_DEBT_NANOS = Long.MAX_VALUE / 4;
  private static final long NO_TICKET = -1;

  private final RateLimiter parent;
  /** This child's share of the root against its siblings; 0 for FIFO draws from the root. */
  private final int weight;
  private final long burstNanos;
  private final LongSupplier nanoClock;
  /** Threads blocked in {@link #acquire} on a draw from this bucket, woken when the rate changes. */
  private final Set<Thread> waiters = ConcurrentHashMap.newKeySet();
  private volatile long rate;

  // The bucket is kept as a time rather than a token count, so partial tokens are never lost:
  // clearAt is when all granted bytes are paid for. A clearAt up to burstNanos in the past
  // stands for saved tokens; one in the future is debt. Both fields are guarded by this.
  private long clearAt;
  /** Bytes granted so far; a draw's ticket is this count right after it, its place in the queue. */
  private long granted;

  // Weighted fair queue of blocked draws, used on the root only and guarded by the root.
  private final PriorityQueue<FairDraw> fairQueue = new PriorityQueue<>();
  /** The tag of the draw the root granted last: a flow that was idle starts from here. */
  private double virtualTime;
  private long fairSequence;
  /** On a weighted child: the tag of its latest draw at the root, guarded by the root. */
  private double fairFinish;

  private record FairDraw(double tag, long sequence, Thread thread) implements Comparable<FairDraw> {
    @Override
    public int compareTo(FairDraw other) {
      int byTag = Double.compare(tag, other.tag);
      return byTag != 0 ? byTag : Long.compare(sequence, other.sequence);
    }
  }

  /** A limiter on the system clock with the {@linkplain #DEFAULT_BURST default burst}. */
  public RateLimiter(long bytesPerSecond) {
    this(null, 0, bytesPerSecond, DEFAULT_BURST, System::nanoTime);
  }

  /** A limiter with its own burst and clock ({@link System#nanoTime} semantics), e.g. for tests. */
  public RateLimiter(long bytesPerSecond, Duration burst, LongSupplier nanoClock) {
    this(null, 0, bytesPerSecond, burst, nanoClock);
  }

  private RateLimiter(RateLimiter parent, int weight, long bytesPerSecond, Duration burst, LongSupplier nanoClock) {
    if (burst.isNegative()) {
      throw new IllegalArgumentException("negative burst " + burst);
    }
    this.parent = parent;
    this.weight = weight;
    this.burstNanos = burst.toNanos();
    this.nanoClock = nanoClock;
    this.rate = bytesPerSecond;
    this.clearAt = nanoClock.getAsLong() - burstNanos;
  }

  /**
   * A limiter whose draws also draw from this one, so its users get at most the tighter of the
   * two rates. It shares this limiter's burst and clock.
   */
  public RateLimiter child(long bytesPerSecond) {
    return new RateLimiter(this, 0, bytesPerSecond, Duration.ofNanos(burstNanos), nanoClock);
  }

  /**
   * A child of a root limiter that shares the root's rate with its weighted siblings by weight
   * when they all block in {@link #acquire} (see the class comment); otherwise as {@link #child(long)}.
   */
  public RateLimiter child(long bytesPerSecond, int weight) {
    if (parent != null) {
      throw new IllegalStateException("weighted children are drawn against the root; this limiter is a child");
    }
    if (weight <= 0) {
      throw new IllegalArgumentException("weight must be positive: " + weight);
    }
    return new RateLimiter(this, weight, bytesPerSecond, Duration.ofNanos(burstNanos), nanoClock);
  }

  /** This limiter's own rate in bytes per second; 0 or less is unlimited. Ancestors not included. */
  public long rate() {
    return rate;
  }

  /** Whether draws never wait: this limiter and all its ancestors are unlimited. */
  public boolean isUnlimited() {
    for (RateLimiter limiter = this; limiter != null; limiter = limiter.parent) {
      if (limiter.rate > 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Changes the rate from now on; 0 or less removes the limit. Debt or saved tokens carry over
   * in bytes (saved tokens capped at the burst), and blocked {@link #acquire} calls recompute
   * their wait at once, so raising the rate wakes them early. Going from unlimited to limited
   * starts with a full bucket.
   */
  public void setRate(long bytesPerSecond) {
    synchronized (this) {
      long old = rate;
      if (bytesPerSecond > 0 && old != bytesPerSecond) {
        long now = nanoClock.getAsLong();
        if (old <= 0) {
          clearAt = now - burstNanos;
        } else {
          long ahead = Math.max(clearAt - now, -burstNanos);
          if (ahead >= 0) {
            clearAt = now + nanosFor(mulDiv(ahead, old, NANOS_PER_SECOND, true), bytesPerSecond);
          } else {
            long saved = mulDiv(-ahead, old, NANOS_PER_SECOND, false);
            clearAt = now - Math.min(burstNanos, mulDiv(saved, NANOS_PER_SECOND, bytesPerSecond, false));
          }
        }
      }
      rate = bytesPerSecond;
    }
    waiters.forEach(LockSupport::unpark);
  }

  /**
   * Draws {@code bytes} now and returns how many nanoseconds the caller must wait before using
   * them (0 if none), for callers that schedule instead of blocking, such as event loops. The
   * wait is fixed when drawn: a later rate change does not shorten it.
   */
  public long reserve(long bytes) {
    requireNonNegative(bytes);
    long wait = 0;
    for (RateLimiter limiter = this; limiter != null; limiter = limiter.parent) {
      if (limiter.rate > 0) {
        wait = Math.max(wait, limiter.takeAndWait(bytes));
      }
    }
    return wait;
  }

  /**
   * Draws {@code bytes} and blocks until they may be used. Parks rather than spins, so it suits
   * virtual threads; a rate change on this limiter or an ancestor makes it recompute its wait.
   * When interrupted the bytes stay drawn.
   */
  public void acquire(long bytes) throws InterruptedException {
    requireNonNegative(bytes);
    if (isUnlimited()) {
      return;
    }
    int depth = 0;
    for (RateLimiter limiter = this; limiter != null; limiter = limiter.parent) {
      depth++;
    }
    RateLimiter[] drawnFrom = new RateLimiter[depth];
    long[] tickets = new long[depth];
    int count = 0;
    RateLimiter fairRoot = weight > 0 ? parent : null;
    for (RateLimiter limiter = this; limiter != null; limiter = limiter.parent) {
      if (limiter == fairRoot) {
        continue;
      }
      long ticket = limiter.take(bytes);
      if (ticket != NO_TICKET) {
        drawnFrom[count] = limiter;
        tickets[count++] = ticket;
      }
    }
    Thread self = Thread.currentThread();
    // Registered before the first wait is computed, so a rate change cannot slip in unnoticed:
    // its unpark makes the next park return at once.
    for (int i = 0; i < count; i++) {
      drawnFrom[i].waiters.add(self);
    }
    try {
      while (true) {
        long wait = 0;
        for (int i = 0; i < count; i++) {
          wait = Math.max(wait, drawnFrom[i].remaining(tickets[i]));
        }
        if (wait <= 0) {
          break;
        }
        LockSupport.parkNanos(this, wait);
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
    } finally {
      for (int i = 0; i < count; i++) {
        drawnFrom[i].waiters.remove(self);
      }
    }
    if (fairRoot != null && fairRoot.rate > 0) {
      fairRoot.awaitFairTurn(this, bytes);
    }
  }

  /**
   * Queues a weighted child's draw at this root and blocks until it is the lowest tag and the
   * bucket is out of debt, then grants it. Waiters behind the head park until it hands over.
   */
  private void awaitFairTurn(RateLimiter flow, long bytes) throws InterruptedException {
    Thread self = Thread.currentThread();
    FairDraw draw;
    synchronized (this) {
      double start = Math.max(virtualTime, flow.fairFinish);
      flow.fairFinish = start + (double) bytes / flow.weight;
      draw = new FairDraw(flow.fairFinish, fairSequence++, self);
      fairQueue.add(draw);
    }
    waiters.add(self);
    try {
      while (true) {
        long wait;
        synchronized (this) {
          long currentRate = rate;
          if (currentRate <= 0) {
            return;
          }
          wait = -1;
          if (fairQueue.peek() == draw) {
            long now = nanoClock.getAsLong();
            if (clearAt <= now) {
              grant(bytes, currentRate, now);
              virtualTime = draw.tag();
              return;
            }
            wait = clearAt - now;
          }
        }
        if (wait < 0) {
          LockSupport.park(this);
        } else {
          LockSupport.parkNanos(this, wait);
        }
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
    } finally {
      waiters.remove(self);
      FairDraw next;
      synchronized (this) {
        fairQueue.remove(draw);
        next = fairQueue.peek();
      }
      if (next != null) {
        LockSupport.unpark(next.thread());
      }
    }
  }

  /** Grants {@code bytes} and returns their ticket, or NO_TICKET if this bucket is unlimited. */
  private synchronized long take(long bytes) {
    long currentRate = rate;
    if (currentRate <= 0) {
      return NO_TICKET;
    }
    grant(bytes, currentRate, nanoClock.getAsLong());
    return granted;
  }

  /** Grants {@code bytes} and returns the nanoseconds until they are paid for. */
  private synchronized long takeAndWait(long bytes) {
    long currentRate = rate;
    if (currentRate <= 0) {
      return 0;
    }
    long now = nanoClock.getAsLong();
    grant(bytes, currentRate, now);
    return Math.max(0, clearAt - now);
  }

  private void grant(long bytes, long currentRate, long now) {
    long ahead = Math.max(clearAt - now, -burstNanos);
    clearAt = now + Math.min(ahead + nanosFor(bytes, currentRate), MAX_DEBT_NANOS);
    granted += bytes;
  }

  /**
   * Nanoseconds until the draw holding {@code ticket} is paid for: the time to clear all debt
   * minus the time for the bytes granted after it, at the current rate.
   */
  private synchronized long remaining(long ticket) {
    long currentRate = rate;
    if (currentRate <= 0) {
      return 0;
    }
    return clearAt - nanosFor(granted - ticket, currentRate) - nanoClock.getAsLong();
  }

  private static long nanosFor(long bytes, long bytesPerSecond) {
    return Math.min(mulDiv(bytes, NANOS_PER_SECOND, bytesPerSecond, true), MAX_DEBT_NANOS);
  }

  /** {@code a * b / c} for non-negative a, b and positive c, saturating at Long.MAX_VALUE. */
  private static long mulDiv(long a, long b, long c, boolean roundUp) {
    long product = a * b;
    if (Math.multiplyHigh(a, b) == 0 && product >= 0) {
      return roundUp ? Math.ceilDiv(product, c) : product / c;
    }
    BigInteger[] quotient = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b))
        .divideAndRemainder(BigInteger.valueOf(c));
    BigInteger result = roundUp && quotient[1].signum() != 0 ? quotient[0].add(BigInteger.ONE) : quotient[0];
    return result.bitLength() < Long.SIZE ? result.longValue() : Long.MAX_VALUE;
  }

  private static void requireNonNegative(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative byte count " + bytes);
    }
  }
}
