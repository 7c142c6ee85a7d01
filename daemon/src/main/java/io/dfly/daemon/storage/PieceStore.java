package io.dfly.daemon.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's piece store: one directory per task under {@code <data-dir>/tasks}. Finished
 * tasks found at start-up are served again; unfinished ones are discarded for now.
 */
public final class PieceStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PieceStore.class);

  private final Path tasksDir;
  private final ConcurrentHashMap<String, TaskStore> tasks = new ConcurrentHashMap<>();

  public PieceStore(Path dataDir) throws IOException {
    this.tasksDir = dataDir.resolve("tasks");
    Files.createDirectories(tasksDir);
    restore();
  }

  private void restore() throws IOException {
    try (Stream<Path> dirs = Files.list(tasksDir)) {
      for (Path dir : dirs.toList()) {
        String taskId = dir.getFileName().toString();
        Path metadata = dir.resolve(TaskMetadata.FILE_NAME);
        if (Files.isRegularFile(metadata)) {
          try {
            tasks.put(taskId, TaskStore.restore(taskId, dir, TaskMetadata.read(metadata)));
            continue;
          } catch (IOException e) {
            log.warn("task {} has unreadable metadata, discarding it: {}", taskId, e.getMessage());
          }
        }
        deleteTree(dir);
      }
    }
    log.info("piece store {}: {} finished tasks", tasksDir, tasks.size());
  }

  /** The task's store, created empty when the task is new here. */
  public TaskStore open(String taskId) {
    return tasks.computeIfAbsent(taskId, id -> {
      try {
        return new TaskStore(id, tasksDir.resolve(id));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the store of task " + id, e);
      }
    });
  }

  /** The task's store, or null when this host has nothing of it. */
  public TaskStore find(String taskId) {
    return tasks.get(taskId);
  }

  @Override
  public void close() {
    tasks.values().forEach(TaskStore::close);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
