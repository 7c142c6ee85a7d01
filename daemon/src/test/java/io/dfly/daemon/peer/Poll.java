package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for what other threads do, with a deadline generous enough for a slow, loaded machine. */
final class Poll {
  static final Duration DEADLINE = Duration.ofSeconds(30);

  private Poll() {}

  /** Polls {@code condition} until it holds, failing with {@code what} at the deadline. */
  static void until(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(condition.getAsBoolean()).as(what + " within " + DEADLINE.toSeconds() + " s").isTrue();
  }
}
