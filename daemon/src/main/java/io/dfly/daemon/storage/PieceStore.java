package io.dfly.daemon.storage;

import com.sun.nio.file.ExtendedOpenOption;
import io.dfly.common.fs.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's piece store: one directory per task under {@code <data-dir>/tasks}. At start-up
 * finished tasks are served again and unfinished ones come back with the pieces their last
 * checkpoint recorded, ready to be resumed; a task directory without metadata (a crash before
 * its first checkpoint) is removed. Data is forced to disk only at a clean shutdown, which
 * leaves a marker; without it, every recorded piece is verified before it is trusted.
 */
public final class PieceStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PieceStore.class);
  /** Present while the daemon is stopped after a clean shutdown. */
  private static final String CLEAN_SHUTDOWN = "clean-shutdown";

  private final Path tasksDir;
  private final ConcurrentHashMap<String, TaskStore> tasks = new ConcurrentHashMap<>();
  /** Block size of direct I/O, or 0 when task data goes through the page cache. */
  private final int directAlignment;

  /** A store whose task data goes through the page cache. */
  public PieceStore(Path dataDir) throws IOException {
    this(dataDir, false);
  }

  /**
   * A store; with {@code directIo}, task data is written and uploaded past the page cache where
   * the filesystem allows it (see {@code DaemonConfig.directIo}), else through it, with a warning.
   */
  public PieceStore(Path dataDir, boolean directIo) throws IOException {
    this.tasksDir = dataDir.resolve("tasks");
    Files.createDirectories(tasksDir);
    this.directAlignment = directIo ? probeDirectIo(tasksDir) : 0;
    restore();
  }

  /** The block size for direct I/O in {@code dir}, or 0 when its filesystem has none (tmpfs, some network filesystems). */
  private static int probeDirectIo(Path dir) throws IOException {
    FileStore store = Files.getFileStore(dir);
    String type = store.type();
    if (type.equals("tmpfs") || type.equals("ramfs")) {
      // Linux 6.6 and later accept O_DIRECT on tmpfs, but the data lives in memory all the same.
      log.warn("piece store {}: on {}, which is memory, direct I/O keeps nothing out of it; using the page cache",
          dir, type);
      return 0;
    }
    Path probe = Files.createTempFile(dir, ".direct-io", ".probe");
    try (FileChannel channel = openDirect(probe)) {
      long blockSize = store.getBlockSize();
      if (blockSize <= 0 || blockSize > DirectBuffers.ALIGNMENT || DirectBuffers.ALIGNMENT % blockSize != 0) {
        log.warn("piece store {}: block size {} does not suit direct I/O; using the page cache", dir, blockSize);
        return 0;
      }
      log.info("piece store {}: direct I/O, {}-byte blocks", dir, blockSize);
      return (int) blockSize;
    } catch (IOException | UnsupportedOperationException e) {
      log.warn("piece store {}: direct I/O is not available ({}); using the page cache", dir, e.toString());
      return 0;
    } finally {
      Files.deleteIfExists(probe);
    }
  }

  static FileChannel openDirect(Path data) throws IOException {
    return FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
  }

  private void restore() throws IOException {
    Path marker = tasksDir.resolveSibling(CLEAN_SHUTDOWN);
    boolean clean = Files.exists(marker);
    Files.deleteIfExists(marker);
    int unfinished = 0;
    try (Stream<Path> dirs = Files.list(tasksDir)) {
      for (Path dir : dirs.toList()) {
        String taskId = dir.getFileName().toString();
        Path metadata = dir.resolve(TaskMetadata.FILE_NAME);
        if (Files.isRegularFile(metadata)) {
          try {
            TaskStore store = TaskStore.restore(taskId, dir, TaskMetadata.read(metadata), directAlignment);
            if (store.isComplete() || store.download() != null) {
              tasks.put(taskId, store);
              unfinished += store.isComplete() ? 0 : 1;
              continue;
            }
            store.close();
          } catch (IOException e) {
            log.warn("task {} has unreadable metadata, discarding it: {}", taskId, e.getMessage());
          }
        }
        FileTrees.delete(dir);
      }
    }
    if (!clean && !tasks.isEmpty()) {
      // Data is not forced as it arrives: after a crash, trust only pieces that still verify.
      int dropped = 0;
      for (TaskStore store : tasks.values()) {
        dropped += store.verifyPieces();
      }
      unfinished = (int) tasks.values().stream().filter(t -> !t.isComplete()).count();
      log.warn("piece store {}: the last shutdown was not clean; verified {} tasks, dropped {} pieces",
          tasksDir, tasks.size(), dropped);
    }
    log.info("piece store {}: {} finished and {} unfinished tasks", tasksDir, tasks.size() - unfinished, unfinished);
  }

  /** The task's store, created empty when the task is new here. */
  public TaskStore open(String taskId) {
    return tasks.computeIfAbsent(taskId, id -> {
      try {
        return new TaskStore(id, tasksDir.resolve(id), directAlignment);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the store of task " + id, e);
      }
    });
  }

  /** The task's store, or null when this host has nothing of it. */
  public TaskStore find(String taskId) {
    return tasks.get(taskId);
  }

  /** Every task here, finished or not. */
  public List<TaskStore> tasks() {
    return new ArrayList<>(tasks.values());
  }

  /** Unfinished tasks that know their download request, for resuming after a restart. */
  public List<TaskStore> unfinished() {
    return tasks.values().stream().filter(t -> !t.isComplete() && t.download() != null).toList();
  }

  /** Keeps a task until it is deleted explicitly, whatever garbage collection finds. */
  public void pin(TaskStore store) throws IOException {
    store.pin();
    store.saveMetadata();
  }

  /** Deletes a task's files; true when it was here. */
  public boolean remove(String taskId) throws IOException {
    TaskStore store = tasks.remove(taskId);
    if (store == null) {
      return false;
    }
    store.close();
    FileTrees.delete(store.dir());
    return true;
  }

  /** Bytes held by every task. */
  public long usedBytes() {
    long sum = 0;
    for (TaskStore store : tasks.values()) {
      sum += store.sizeOnDisk();
    }
    return sum;
  }

  public Path directory() {
    return tasksDir;
  }

  /** Checkpoints every unfinished task; called periodically and at shutdown. */
  public void checkpointAll() {
    for (TaskStore store : tasks.values()) {
      try {
        store.checkpoint();
      } catch (IOException e) {
        log.warn("checkpoint of task {} failed: {}", store.taskId(), e.getMessage());
      }
    }
  }

  /** Checkpoints and forces every task, then marks the shutdown clean so the next start trusts the store. */
  @Override
  public void close() {
    checkpointAll();
    boolean forced = true;
    for (TaskStore store : tasks.values()) {
      try {
        store.force();
      } catch (IOException e) {
        forced = false;
        log.warn("cannot force task {} to disk: {}", store.taskId(), e.getMessage());
      }
      store.close();
    }
    if (forced) {
      try {
        Files.writeString(tasksDir.resolveSibling(CLEAN_SHUTDOWN), "");
      } catch (IOException e) {
        log.warn("cannot mark the shutdown clean: {}", e.getMessage());
      }
    }
  }
}
