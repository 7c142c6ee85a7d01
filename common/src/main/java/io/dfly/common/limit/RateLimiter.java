package io.dfly.common.limit;

import java.math.BigInteger;
import java.time.Duration;
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
 * <p>A rate of 0 or less means unlimited: draws then take no lock and never wait.
 */
public final class RateLimiter {
  public static final Duration DEFAULT_BURST = Duration.ofMillis(200);

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** Caps any debt (about 73 years) so that arithmetic on clock values cannot overflow. */
  private static final long MAX_DEBT_NANOS = Long.MAX_VALUE / 4;
  private static final long NO_TICKET = -1;

  private final RateLimiter parent;
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

  /** A limiter on the system clock with the {@linkplain #DEFAULT_BURST default burst}. */
  public RateLimiter(long bytesPerSecond) {
    this(null, bytesPerSecond, DEFAULT_BURST, System::nanoTime);
  }

  /** A limiter with its own burst and clock ({@link System#nanoTime} semantics), e.g. for tests. */
  public RateLimiter(long bytesPerSecond, Duration burst, LongSupplier nanoClock) {
    this(null, bytesPerSecond, burst, nanoClock);
  }

  private RateLimiter(RateLimiter parent, long bytesPerSecond, Duration burst, LongSupplier nanoClock) {
    if (burst.isNegative()) {
      throw new IllegalArgumentException("negative burst " + burst);
    }
    this.parent = parent;
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
    return new RateLimiter(this, bytesPerSecond, Duration.ofNanos(burstNanos), nanoClock);
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
    for (RateLimiter limiter = this; limiter != null; limiter = limiter.parent) {
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
          return;
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
