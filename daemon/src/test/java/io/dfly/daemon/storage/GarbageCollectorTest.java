package io.dfly.daemon.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GarbageCollectorTest {
  private static final long HOUR = 3_600_000;

  @TempDir
  Path dataDir;

  private final AtomicLong now = new AtomicLong(System.currentTimeMillis());

  /** A complete task of {@code size} bytes last used {@code ageMillis} before now. */
  private TaskStore task(PieceStore store, String id, int size, long ageMillis) throws IOException {
    TaskStore task = store.open(id);
    task.setLayout(size, size);
    task.markFinished(task.readPiece(Channels.newChannel(new ByteArrayInputStream(new byte[size])), 0, 0, size, true));
    task.markComplete();
    task.touchAt(now.get() - ageMillis);
    return task;
  }

  private static Set<String> ids(PieceStore store) {
    return store.tasks().stream().map(TaskStore::taskId).collect(java.util.stream.Collectors.toSet());
  }

  @Test
  void diskUseIsCountedAsDfCountsItWithoutReservedBlocks() {
    long gib = 1L << 30;
    // This machine's root filesystem: 252 GiB, 23 GiB used, 79 GiB available, the rest reserved.
    assertThat(GarbageCollector.diskUsePercent(252 * gib, 229 * gib, 79 * gib, 0)).isCloseTo(22.5, within(0.1));
    assertThat(GarbageCollector.diskUsePercent(252 * gib, 229 * gib, 79 * gib, 10 * gib)).isCloseTo(32.4, within(0.1));
    assertThat(GarbageCollector.diskUsePercent(0, 0, 0, 0)).isZero();
  }

  @Test
  void removesTasksUnusedForLongerThanTheTtlButNotPinnedOrActiveOnes() throws IOException {
    try (PieceStore store = new PieceStore(dataDir)) {
      task(store, "old", 1000, 3 * HOUR);
      store.pin(task(store, "pinned", 1000, 3 * HOUR));
      task(store, "active", 1000, 3 * HOUR);
      task(store, "recent", 1000, HOUR);
      GarbageCollector gc = new GarbageCollector(store, new GarbageCollector.Policy(2 * HOUR, 100, 100, 0),
          "active"::equals, now::get);
      assertThat(gc.collect()).isEqualTo(1000);
      assertThat(ids(store)).containsExactlyInAnyOrder("pinned", "active", "recent");
      assertThat(dataDir.resolve("tasks/old")).doesNotExist();
    }
  }

  @Test
  void aboveTheHighWatermarkEvictsLeastRecentlyUsedDownToTheLowOne() throws IOException {
    try (PieceStore store = new PieceStore(dataDir)) {
      task(store, "a", 2000, 0); // the most recent
      task(store, "b", 2000, 3000);
      task(store, "c", 2000, 2000);
      task(store, "d", 2000, 1000);
      // 8000 of a 9000-byte quota = 89%: above 80%, evict down to 50% (4500 bytes)
      GarbageCollector gc = new GarbageCollector(store, new GarbageCollector.Policy(100 * HOUR, 80, 50, 9000),
          id -> false, now::get);
      assertThat(gc.collect()).isEqualTo(4000);
      assertThat(ids(store)).containsExactlyInAnyOrder("a", "d");
    }
  }

  @Test
  void makingRoomEvictsWhatItMustAndOtherwiseFailsWithTheQuota() throws IOException {
    try (PieceStore store = new PieceStore(dataDir)) {
      task(store, "x", 3000, 0);
      store.pin(task(store, "y", 3000, 0));
      GarbageCollector gc = new GarbageCollector(store, new GarbageCollector.Policy(100 * HOUR, 90, 50, 8000),
          id -> false, now::get);
      gc.makeRoom(2000, "small"); // fits beside both
      assertThat(ids(store)).containsExactlyInAnyOrder("x", "y");
      gc.makeRoom(4000, "medium"); // needs x gone
      assertThat(ids(store)).containsExactly("y");
      assertThatThrownBy(() -> gc.makeRoom(6000, "huge"))
          .isInstanceOf(GarbageCollector.StoreFullException.class)
          .hasMessage("disk quota reached: task huge needs 6000 bytes, the store holds 3000 of its 8000 byte quota");
      assertThat(ids(store)).containsExactly("y");
    }
  }

  @Test
  void rejectsWatermarksInTheWrongOrder() {
    assertThatThrownBy(() -> new GarbageCollector.Policy(1, 50, 60, 0))
        .hasMessageContaining("low (60) <= high (50)");
  }
}
