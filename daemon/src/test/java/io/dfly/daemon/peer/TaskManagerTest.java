package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Priority;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.DaemonConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskManagerTest {
  private static final long MS = 1_000_000L;

  @TempDir
  Path dir;
  private PeerHarness harness;
  /** The host limiter's clock: it moves only when the test moves it, so grants come one at a time. */
  private final AtomicLong clock = new AtomicLong(5_000 * 1000 * MS);

  @BeforeEach
  void start() throws Exception {
    harness = new PeerHarness(dir);
  }

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  @Test
  void downloadsShareTheHostDownloadRateByPriorityHighFourNormalTwoLowOne() throws Exception {
    // No burst: a grant is a draw's time after the one before, so each step of the clock below
    // lets exactly one draw through, weighted or not.
    RateLimiter hostRate = new RateLimiter(1000, Duration.ZERO, clock::get);
    TaskManager tasks = harness.downloader("host", new DaemonConfig(), hostRate);
    // The tasks wait for parents the stand-in scheduler never offers; the test draws from their limiters.
    RateLimiter low = limiterOf(tasks, "low", Priority.PRIORITY_LOW);
    RateLimiter normal = limiterOf(tasks, "unspecified", null);
    RateLimiter high = limiterOf(tasks, "high", Priority.PRIORITY_HIGH);

    hostRate.reserve(1000); // a second of debt: every draw below blocks
    List<String> grants = new CopyOnWriteArrayList<>();
    List<Thread> draws = new ArrayList<>();
    // Seven draws of 100 bytes each, so any one task could take all of the first seven grants.
    for (int i = 0; i < 7; i++) {
      draws.add(draw(low, "low", grants));
      draws.add(draw(normal, "normal", grants));
      draws.add(draw(high, "high", grants));
    }
    Poll.until(() -> draws.stream().allMatch(TaskManagerTest::parked), "every draw blocked");
    clock.addAndGet(1000 * MS);
    for (int granted = 1; granted <= 7; granted++) {
      clock.addAndGet(100 * MS); // one draw's worth
      hostRate.setRate(1000); // the same rate: wakes the blocked draws to look at the moved clock
      int expected = granted;
      Poll.until(() -> grants.size() >= expected, expected + " grants");
    }
    // Weighted fair order grants by bytes over weight: high's draws end at 25, 50, 75, 100,
    // normal's at 50, 100, low's at 100, and every later one past 100, so the first seven grants
    // are those whatever the order among equals.
    Map<String, Long> firstSeven = grants.subList(0, 7).stream()
        .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    assertThat(firstSeven).containsOnly(Map.entry("high", 4L), Map.entry("normal", 2L), Map.entry("low", 1L));

    hostRate.setRate(0); // lets the rest through
    for (Thread thread : draws) {
      thread.join(Poll.DEADLINE);
    }
  }

  /** Starts a download with {@code priority} (null: none given) and returns its share of the host's rate. */
  private static RateLimiter limiterOf(TaskManager tasks, String name, Priority priority) {
    Download.Builder request = PeerHarness.download(name).toBuilder();
    if (priority != null) {
      request.setPriority(priority);
    }
    Download download = request.build();
    tasks.download(download);
    return tasks.active(TaskId.of(download)).limiter();
  }

  private static Thread draw(RateLimiter limiter, String name, List<String> grants) {
    return Thread.ofVirtual().start(() -> {
      try {
        limiter.acquire(100);
        grants.add(name);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    });
  }

  private static boolean parked(Thread thread) {
    Thread.State state = thread.getState();
    return state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING;
  }
}
