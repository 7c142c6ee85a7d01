package io.dfly.daemon.storage;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the piece store within its bounds: tasks unused for longer than the TTL go, and when
 * disk use passes the high watermark the least recently used tasks go until it is back under
 * the low one. Disk use is the store's share of its quota when one is set, else the use of the
 * whole filesystem. Pinned tasks and tasks in use are never evicted.
 */
public final class GarbageCollector {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

  /** Bounds of the store; watermarks in percent. */
  public record Policy(long taskTtlMillis, int highWatermarkPercent, int lowWatermarkPercent, long quotaBytes) {
    public Policy {
      if (lowWatermarkPercent > highWatermarkPercent || highWatermarkPercent > 100 || lowWatermarkPercent < 0) {
        throw new IllegalArgumentException("watermarks must satisfy 0 <= low (" + lowWatermarkPercent
            + ") <= high (" + highWatermarkPercent + ") <= 100");
      }
    }
  }

  private final PieceStore store;
  private final Policy policy;
  private final Predicate<String> inUse;
  private final LongSupplier clock;

  public GarbageCollector(PieceStore store, Policy policy, Predicate<String> inUse, LongSupplier clock) {
    this.store = store;
    this.policy = policy;
    this.inUse = inUse;
    this.clock = clock;
  }

  /** One pass: TTL first, then watermarks. Returns the bytes freed. */
  public synchronized long collect() {
    long freed = 0;
    long now = clock.getAsLong();
    for (TaskStore task : evictable()) {
      if (now - task.lastAccessMillis() > policy.taskTtlMillis()) {
        freed += evict(task, "unused for longer than the TTL");
      }
    }
    if (usePercent(0) >= policy.highWatermarkPercent()) {
      freed += evictUntil(policy.lowWatermarkPercent(), 0, "disk use above the high watermark");
    }
    return freed;
  }

  /**
   * Makes room for {@code bytes} more, evicting least recently used tasks if needed.
   *
   * @throws StoreFullException when even that leaves too little room
   */
  public synchronized void makeRoom(long bytes, String forTask) throws StoreFullException {
    if (fits(bytes)) {
      return;
    }
    evictUntil(policy.highWatermarkPercent(), bytes, "room for task " + forTask);
    if (!fits(bytes)) {
      throw new StoreFullException(policy.quotaBytes() > 0
          ? "disk quota reached: task " + forTask + " needs " + bytes + " bytes, the store holds "
              + store.usedBytes() + " of its " + policy.quotaBytes() + " byte quota"
          : "not enough disk space: task " + forTask + " needs " + bytes + " bytes, "
              + usableBytes() + " are free in " + store.directory());
    }
  }

  private boolean fits(long bytes) {
    if (policy.quotaBytes() > 0) {
      return store.usedBytes() + bytes <= policy.quotaBytes();
    }
    return bytes <= usableBytes();
  }

  private long evictUntil(int targetPercent, long extraBytes, String reason) {
    long freed = 0;
    for (TaskStore task : evictable()) {
      if (usePercent(extraBytes) <= targetPercent && fits(extraBytes)) {
        break;
      }
      freed += evict(task, reason);
    }
    return freed;
  }

  /** Unpinned tasks not in use, least recently used first. */
  private List<TaskStore> evictable() {
    return store.tasks().stream()
        .filter(t -> !t.isPinned() && !inUse.test(t.taskId()))
        .sorted(Comparator.comparingLong(TaskStore::lastAccessMillis))
        .toList();
  }

  private long evict(TaskStore task, String reason) {
    long size = task.sizeOnDisk();
    try {
      if (store.remove(task.taskId())) {
        log.info("gc: removed task {} ({} bytes): {}", task.taskId(), size, reason);
        return size;
      }
    } catch (IOException e) {
      log.warn("gc: cannot remove task {}: {}", task.taskId(), e.getMessage());
    }
    return 0;
  }

  private double usePercent(long extraBytes) {
    if (policy.quotaBytes() > 0) {
      return 100.0 * (store.usedBytes() + extraBytes) / policy.quotaBytes();
    }
    try {
      FileStore fs = Files.getFileStore(store.directory());
      return diskUsePercent(fs.getTotalSpace(), fs.getUnallocatedSpace(), fs.getUsableSpace(), extraBytes);
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Disk use as {@code df} shows it: used blocks over what this process could use in all (used
   * plus available). Blocks the filesystem reserves (for root, or a whole reserve like ext4's
   * resv_strict) are neither, so they do not make a disk look fuller than it is to us.
   */
  static double diskUsePercent(long total, long unallocated, long usable, long extraBytes) {
    long used = total - unallocated;
    long capacity = used + usable;
    return capacity <= 0 ? 0 : 100.0 * (used + extraBytes) / capacity;
  }

  private long usableBytes() {
    try {
      return Files.getFileStore(store.directory()).getUsableSpace();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The store cannot take a task: quota or disk full. */
  public static final class StoreFullException extends IOException {
    public StoreFullException(String message) {
      super(message);
    }
  }
}
