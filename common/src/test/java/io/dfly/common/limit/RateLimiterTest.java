package io.dfly.common.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private static final long MS = 1_000_000L;
  private static final long SECOND = 1_000_000_000L;

  /** A clock that starts far from zero, so no code can lean on nanoTime being small. */
  private final AtomicLong clock = new AtomicLong(7_777 * SECOND);

  private RateLimiter limiter(long bytesPerSecond) {
    return new RateLimiter(bytesPerSecond, Duration.ofMillis(200), clock::get);
  }

  @Test
  void fullBucketGrantsTheBurstThenEachDrawWaitsForItsBytes() {
    RateLimiter limiter = limiter(1000);
    assertThat(limiter.reserve(200)).isZero();
    assertThat(limiter.reserve(100)).isEqualTo(100 * MS);
    // Queued behind the first draw's debt.
    assertThat(limiter.reserve(50)).isEqualTo(150 * MS);
    clock.addAndGet(150 * MS);
    assertThat(limiter.reserve(1)).isEqualTo(1 * MS);
    assertThat(limiter.reserve(0)).isEqualTo(1 * MS);
  }

  @Test
  void aDrawBiggerThanTheBucketGoesIntoDebtInsteadOfWaitingForever() {
    RateLimiter limiter = limiter(1000);
    assertThat(limiter.reserve(10_000)).isEqualTo(9_800 * MS);
    assertThat(limiter.reserve(1)).isEqualTo(9_801 * MS);
    clock.addAndGet(9_801 * MS);
    assertThat(limiter.reserve(1)).isEqualTo(1 * MS);
  }

  @Test
  void anIdleBucketSavesNoMoreThanTheBurst() {
    RateLimiter limiter = limiter(1000);
    limiter.reserve(1000);
    clock.addAndGet(3600 * SECOND);
    assertThat(limiter.reserve(1000)).isEqualTo(800 * MS);
  }

  @Test
  void waitsKeepFractionsOfABytesTime() {
    RateLimiter limiter = new RateLimiter(3, Duration.ZERO, clock::get);
    // A third of a second per byte: each draw rounds its own time up to a whole nanosecond.
    assertThat(limiter.reserve(1)).isEqualTo(333_333_334L);
    assertThat(limiter.reserve(2)).isEqualTo(333_333_334L + 666_666_667L);
  }

  @Test
  void longRunAverageStaysWithinTheRate() {
    long rate = 1_000_000;
    RateLimiter limiter = limiter(rate);
    long sent = total(simulate(List.of(limiter, limiter, limiter, limiter), 30 * SECOND, 300_000, new Random(1)));
    assertThat(sent).isBetween(rate * 30 * 95 / 100, rate * 30 + rate / 5);
  }

  @Test
  void rateChangeTakesEffectAtOnceAndDebtIsRepaidAtTheNewRate() {
    RateLimiter limiter = limiter(1000);
    assertThat(limiter.reserve(1200)).isEqualTo(1 * SECOND);
    limiter.setRate(2000);
    // The 1000 bytes still owed now take half a second.
    assertThat(limiter.reserve(0)).isEqualTo(500 * MS);
    assertThat(limiter.reserve(1000)).isEqualTo(1 * SECOND);
    limiter.setRate(500);
    assertThat(limiter.reserve(0)).isEqualTo(4 * SECOND);
  }

  @Test
  void rateChangeMidwayChangesTheThroughput() {
    RateLimiter limiter = limiter(100_000);
    Random random = new Random(2);
    long first = total(simulate(List.of(limiter, limiter), 10 * SECOND, 30_000, random));
    limiter.setRate(400_000);
    long second = total(simulate(List.of(limiter, limiter), 10 * SECOND, 30_000, random));
    assertThat(first).isCloseTo(1_000_000, within(50_000L));
    assertThat(second).isCloseTo(4_000_000, within(200_000L));
  }

  @Test
  void savedTokensAreCappedAtTheBurstWhenTheRateDrops() {
    RateLimiter limiter = limiter(10_000);
    limiter.setRate(1000);
    assertThat(limiter.reserve(200)).isZero();
    assertThat(limiter.reserve(1)).isEqualTo(1 * MS);
  }

  @Test
  void unlimitedNeverWaits() throws InterruptedException {
    for (long rate : new long[] {0, -1}) {
      RateLimiter limiter = limiter(rate);
      assertThat(limiter.isUnlimited()).isTrue();
      assertThat(limiter.reserve(Long.MAX_VALUE)).isZero();
      assertThat(limiter.reserve(Long.MAX_VALUE)).isZero();
      limiter.acquire(Long.MAX_VALUE);
      assertThat(limiter.child(0).reserve(Long.MAX_VALUE)).isZero();
    }
  }

  @Test
  void limitingAnUnlimitedLimiterStartsWithAFullBucket() {
    RateLimiter limiter = limiter(0);
    limiter.reserve(1_000_000);
    limiter.setRate(1000);
    assertThat(limiter.isUnlimited()).isFalse();
    assertThat(limiter.reserve(200)).isZero();
    assertThat(limiter.reserve(100)).isEqualTo(100 * MS);
    limiter.setRate(0);
    assertThat(limiter.reserve(1_000_000)).isZero();
  }

  @Test
  void childIsHeldToTheTighterOfItsRateAndItsParents() {
    RateLimiter host = limiter(100_000);
    RateLimiter slowTask = host.child(40_000);
    RateLimiter fastTask = host.child(1_000_000);
    assertThat(simulate(List.of(slowTask), 10 * SECOND, 10_000, new Random(3))[0])
        .isCloseTo(400_000, within(20_000L));
    assertThat(simulate(List.of(fastTask), 10 * SECOND, 10_000, new Random(4))[0])
        .isCloseTo(1_000_000, within(50_000L));
    // Siblings share the parent's rate.
    long[] both = simulate(List.of(fastTask, host.child(0)), 10 * SECOND, 10_000, new Random(5));
    assertThat(total(both)).isCloseTo(1_000_000, within(50_000L));
    assertThat(Math.min(both[0], both[1])).isGreaterThan(300_000);
  }

  @Test
  void parentRateChangeAppliesToChildren() {
    RateLimiter host = limiter(0);
    RateLimiter task = host.child(0);
    assertThat(task.isUnlimited()).isTrue();
    host.setRate(1000);
    assertThat(task.isUnlimited()).isFalse();
    assertThat(task.reserve(300)).isEqualTo(100 * MS);
    assertThat(host.reserve(0)).isEqualTo(100 * MS);
  }

  @Test
  void blockedAcquireWakesWhenTheRateIsRaisedOrRemoved() throws Exception {
    RateLimiter host = limiter(1000);
    RateLimiter task = host.child(1000);
    assertThat(task.rate()).isEqualTo(1000);
    Thread first = Thread.ofVirtual().start(() -> acquireQuietly(task, 2200));
    awaitParked(first);
    // Half a second of the fake clock leaves 1500 bytes owed, 1.5 ms at the new rates.
    clock.addAndGet(500 * MS);
    host.setRate(1_000_000);
    task.setRate(1_000_000);
    clock.addAndGet(2 * MS);
    first.join(Duration.ofSeconds(10));
    assertThat(first.isAlive()).isFalse();

    Thread second = Thread.ofVirtual().start(() -> acquireQuietly(task, 10_000_000));
    awaitParked(second);
    host.setRate(0);
    task.setRate(0);
    second.join(Duration.ofSeconds(10));
    assertThat(second.isAlive()).isFalse();
  }

  @Test
  void blockedWeightedDrawsAreGrantedInWeightedFairOrder() throws Exception {
    RateLimiter root = limiter(1000);
    RateLimiter light = root.child(0, 1);
    RateLimiter heavy = root.child(0, 4);
    root.reserve(200 + 1000); // the saved burst and one second of debt
    List<String> grants = new java.util.concurrent.CopyOnWriteArrayList<>();
    // One draw of 400 bytes from the light flow (tag 400), then four from the heavy one (tags 100..400).
    List<Thread> threads = new java.util.ArrayList<>();
    threads.add(startDraw(light, 400, "light", grants));
    for (int i = 1; i <= 4; i++) {
      threads.add(startDraw(heavy, 400, "heavy" + i, grants));
    }
    clock.addAndGet(1000 * MS);
    for (int granted = 1; granted <= 5; granted++) {
      root.setRate(1000); // wakes the waiters to look at the fake clock
      awaitGrants(grants, granted);
      clock.addAndGet(400 * MS);
    }
    for (Thread thread : threads) {
      thread.join(Duration.ofSeconds(10));
    }
    // Ties go to the earlier draw: light's tag 400 was drawn before heavy4's.
    assertThat(grants).containsExactly("heavy1", "heavy2", "heavy3", "light", "heavy4");
  }

  @Test
  void weightedChildrenThatKeepDrawingShareTheRootByWeight() throws Exception {
    RateLimiter root = new RateLimiter(8_000_000, Duration.ofMillis(20), System::nanoTime);
    RateLimiter light = root.child(0, 1);
    RateLimiter heavy = root.child(0, 4);
    AtomicLong lightBytes = new AtomicLong();
    AtomicLong heavyBytes = new AtomicLong();
    long until = System.nanoTime() + 1200 * MS;
    List<Thread> threads = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      threads.add(Thread.ofVirtual().start(() -> drawUntil(light, until, lightBytes)));
      threads.add(Thread.ofVirtual().start(() -> drawUntil(heavy, until, heavyBytes)));
    }
    for (Thread thread : threads) {
      thread.join(Duration.ofSeconds(10));
    }
    assertThat(lightBytes.get()).isPositive();
    assertThat((double) heavyBytes.get() / lightBytes.get()).isBetween(3.0, 5.0);
  }

  @Test
  void weightsAreOnlyForChildrenOfTheRoot() {
    RateLimiter task = limiter(1000).child(0, 2);
    assertThatThrownBy(() -> task.child(0, 1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> limiter(1000).child(0, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void acquireWithinTheBurstDoesNotBlock() throws InterruptedException {
    RateLimiter limiter = limiter(1000);
    limiter.acquire(200);
    assertThat(limiter.reserve(1)).isEqualTo(1 * MS);
  }

  @Test
  void interruptedAcquireThrows() throws Exception {
    RateLimiter limiter = limiter(1);
    Thread.currentThread().interrupt();
    assertThatThrownBy(() -> limiter.acquire(1000)).isInstanceOf(InterruptedException.class);
    assertThat(Thread.interrupted()).isFalse();
  }

  @Test
  void rejectsNegativeDraws() {
    assertThatThrownBy(() -> limiter(1000).reserve(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Users that each draw a random amount, wait as told, then draw again, on the fake clock.
   * Returns the bytes each user got whose wait ended within {@code duration}.
   */
  private long[] simulate(List<RateLimiter> users, long duration, int maxDraw, Random random) {
    long start = clock.get();
    long[] sent = new long[users.size()];
    PriorityQueue<long[]> ready = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
    for (int user = 0; user < users.size(); user++) {
      ready.add(new long[] {start, user});
    }
    while (true) {
      long[] next = ready.poll();
      if (next[0] - start > duration) {
        clock.set(start + duration);
        return sent;
      }
      clock.set(next[0]);
      int user = (int) next[1];
      long bytes = 1 + random.nextInt(maxDraw);
      long usableAt = next[0] + users.get(user).reserve(bytes);
      if (usableAt - start <= duration) {
        sent[user] += bytes;
      }
      ready.add(new long[] {usableAt, user});
    }
  }

  private static long total(long[] sent) {
    return Arrays.stream(sent).sum();
  }

  private static void acquireQuietly(RateLimiter limiter, long bytes) {
    try {
      limiter.acquire(bytes);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static Thread startDraw(RateLimiter limiter, long bytes, String name, List<String> grants)
      throws InterruptedException {
    Thread thread = Thread.ofVirtual().start(() -> {
      acquireQuietly(limiter, bytes);
      grants.add(name);
    });
    for (int i = 0; i < 1000 && thread.getState() != Thread.State.WAITING
        && thread.getState() != Thread.State.TIMED_WAITING; i++) {
      Thread.sleep(5);
    }
    assertThat(thread.getState()).isIn(Thread.State.WAITING, Thread.State.TIMED_WAITING);
    return thread;
  }

  private static void awaitGrants(List<String> grants, int count) throws InterruptedException {
    for (int i = 0; i < 2000 && grants.size() < count; i++) {
      Thread.sleep(5);
    }
    assertThat(grants).hasSize(count);
  }

  private static void drawUntil(RateLimiter limiter, long until, AtomicLong bytes) {
    while (System.nanoTime() < until) {
      acquireQuietly(limiter, 32 * 1024);
      bytes.addAndGet(32 * 1024);
    }
  }

  private static void awaitParked(Thread thread) throws InterruptedException {
    for (int i = 0; i < 1000 && thread.getState() != Thread.State.TIMED_WAITING; i++) {
      Thread.sleep(5);
    }
    assertThat(thread.getState()).isEqualTo(Thread.State.TIMED_WAITING);
  }
}
