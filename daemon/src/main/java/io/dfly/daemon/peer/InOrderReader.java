package io.dfly.daemon.peer;

import io.dfly.daemon.storage.TaskStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Reads a task's bytes in order while the task is in flight: a read waits until the piece
 * holding the next byte is verified, so a reader gets the first bytes long before the last.
 * Serves dfget's stdout stream and the proxy's blob responses.
 */
public final class InOrderReader implements AutoCloseable {
  private static final long WAIT_MILLIS = 300;

  private final TaskManager tasks;
  private final String taskId;
  private final CompletableFuture<TaskStore> task;
  private TaskStore store;
  private FileChannel data;

  public InOrderReader(TaskManager tasks, String taskId, CompletableFuture<TaskStore> task) {
    this.tasks = tasks;
    this.taskId = taskId;
    this.task = task;
  }

  /** Waits until the content length is known (for some origins: until the task completes). */
  public long awaitContentLength() throws InterruptedException {
    while (true) {
      failIfFailed();
      if (store == null) {
        store = tasks.pieceStore().find(taskId);
      }
      if (store == null) {
        if (task.isDone()) {
          store = join(); // done, and already gone from the store's index: read what the task left
        } else {
          Thread.sleep(20); // the store appears as soon as the task starts
          continue;
        }
      }
      long version = store.version();
      if (store.contentLength() >= 0 && store.pieceLength() > 0) {
        return store.contentLength();
      }
      if (task.isDone()) {
        return join().contentLength();
      }
      store.awaitChange(version, WAIT_MILLIS);
    }
  }

  /**
   * Waits until the byte at {@code position} (before {@code end}) is verified; returns the end of
   * the verified bytes from there, at most {@code end}. Call {@link #awaitContentLength} first.
   */
  public long awaitReadable(long position, long end) throws InterruptedException {
    while (true) {
      long version = store.version();
      long ready = verifiedEnd(position, end);
      if (ready > position) {
        return ready;
      }
      failIfFailed();
      store.awaitChange(version, WAIT_MILLIS);
    }
  }

  /** Where the task's data file is. */
  public java.nio.file.Path dataPath() {
    return store.dataPath();
  }

  /** The task's data file, to read what {@link #awaitReadable} allows. */
  public FileChannel data() throws IOException {
    if (data == null) {
      data = FileChannel.open(store.dataPath(), StandardOpenOption.READ);
    }
    return data;
  }

  /** Waits for the task itself to end, returning its store or throwing its failure. */
  public TaskStore join() throws InterruptedException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException cause ? cause : new PeerTaskException(String.valueOf(e.getCause()));
    }
  }

  private void failIfFailed() throws InterruptedException {
    if (task.isCompletedExceptionally()) {
      join();
    }
  }

  /** The end of the verified bytes that start at {@code from}, at most {@code end}. */
  private long verifiedEnd(long from, long end) {
    long pieceLength = store.pieceLength();
    long at = from;
    while (at < end && store.isFinished((int) (at / pieceLength))) {
      at = (at / pieceLength + 1) * pieceLength;
    }
    return Math.min(at, end);
  }

  @Override
  public void close() throws IOException {
    if (data != null) {
      data.close();
    }
  }
}
