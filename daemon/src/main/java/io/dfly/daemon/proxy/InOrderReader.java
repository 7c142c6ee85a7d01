package io.dfly.daemon.proxy;

import io.dfly.daemon.peer.PeerTaskException;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.TaskStore;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Reads a task's bytes in order while the task is in flight: a read waits until the piece
 * holding the next byte is verified, so a reader gets the first bytes long before the last.
 */
final class InOrderReader implements AutoCloseable {
  private static final long WAIT_MILLIS = 300;

  private final TaskManager tasks;
  private final String taskId;
  private final CompletableFuture<TaskStore> task;
  private TaskStore store;
  private FileChannel data;

  InOrderReader(TaskManager tasks, String taskId, CompletableFuture<TaskStore> task) {
    this.tasks = tasks;
    this.taskId = taskId;
    this.task = task;
  }

  /** Waits until the content length is known (for some origins: until the task completes). */
  long awaitContentLength() throws InterruptedException {
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
   * Appends up to {@code max} bytes from {@code position} (before {@code end}) to {@code buffer},
   * waiting until at least one is verified; returns how many were read.
   */
  int read(ByteBuf buffer, long position, long end, int max) throws InterruptedException, IOException {
    while (true) {
      long version = store.version();
      long ready = verifiedEnd(position, end);
      if (ready > position) {
        if (data == null) {
          data = FileChannel.open(store.dataPath(), StandardOpenOption.READ);
        }
        int n = buffer.writeBytes(data, position, (int) Math.min(max, ready - position));
        if (n <= 0) {
          throw new IOException("short read of task " + taskId + " at " + position);
        }
        return n;
      }
      failIfFailed();
      store.awaitChange(version, WAIT_MILLIS);
    }
  }

  /** Waits for the task itself to end, returning its store or throwing its failure. */
  TaskStore join() throws InterruptedException {
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
