package io.dfly.daemon.rpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Download;
import io.dfly.api.dfdaemon.v1.DeleteTaskRequest;
import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.DownloadRequest;
import io.dfly.api.dfdaemon.v1.DownloadResponse;
import io.dfly.api.dfdaemon.v1.DownloadResult;
import io.dfly.api.dfdaemon.v1.ImportTaskRequest;
import io.dfly.api.dfdaemon.v1.Limits;
import io.dfly.api.dfdaemon.v1.Progress;
import io.dfly.api.dfdaemon.v1.SetLimitsRequest;
import io.dfly.api.dfdaemon.v1.StatTaskRequest;
import io.dfly.api.dfdaemon.v1.TaskStat;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.net.ByteRange;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.output.OutputFiles;
import io.dfly.daemon.peer.PeerTask;
import io.dfly.daemon.peer.PeerTaskException;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * dfget's and dfcache's side of the daemon: download a URL into a file or back over the stream,
 * task stats, imports and deletes, and the host's rate limits.
 */
public final class DownloadService extends DfdaemonDownloadGrpc.DfdaemonDownloadImplBase {
  private static final Logger log = LoggerFactory.getLogger(DownloadService.class);
  private static final long PROGRESS_MILLIS = 300;
  private static final int STREAM_CHUNK = 1 << 20;

  private final TaskManager tasks;
  private final RateLimiter uploadRate;
  private final int maxConcurrentUploads;

  public DownloadService(TaskManager tasks, RateLimiter uploadRate, int maxConcurrentUploads) {
    this.tasks = tasks;
    this.uploadRate = uploadRate;
    this.maxConcurrentUploads = maxConcurrentUploads;
  }

  @Override
  public void download(DownloadRequest request, StreamObserver<DownloadResponse> responses) {
    Thread.ofVirtual().name("download").start(() -> serve(request, responses));
  }

  private void serve(DownloadRequest request, StreamObserver<DownloadResponse> responses) {
    Download download = request.getDownload();
    try {
      boolean toStream = request.getOutputPath().isEmpty();
      Path output = toStream ? null : Path.of(request.getOutputPath());
      if (output != null && !output.isAbsolute()) {
        throw new IllegalArgumentException("output path " + output + " is not absolute");
      }
      ByteRange wanted = request.getRange().isBlank() ? null : ByteRange.parseWanted(request.getRange());
      ContentDigest expected = download.getDigest().isEmpty() ? null : ContentDigest.parse(download.getDigest());
      if (toStream && expected != null) {
        throw new IllegalArgumentException("--digest needs an output file: bytes sent to stdout cannot be taken back");
      }
      String taskId = TaskId.of(download);
      CompletableFuture<TaskStore> task = tasks.download(download, request.getRateLimit(), wanted,
          toStream || wanted != null);
      boolean cacheHit = task.isDone();
      TaskStore store;
      if (toStream) {
        store = stream(taskId, task, wanted, (ServerCallStreamObserver<DownloadResponse>) responses);
      } else {
        store = awaitWithProgress(taskId, task, responses);
        OutputFiles.publish(store.dataPath(), resolve(wanted, store), output, expected);
      }
      responses.onNext(DownloadResponse.newBuilder().setResult(DownloadResult.newBuilder()
          .setTaskId(taskId)
          .setContentLength(wanted == null ? store.contentLength() : resolve(wanted, store).length())
          .setCacheHit(cacheHit)
          .setTraffic(store.traffic().snapshot())).build());
      responses.onCompleted();
    } catch (IllegalArgumentException | ByteRange.UnsatisfiableRangeException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    } catch (PeerTaskException e) {
      Status status = e.isStorage() ? Status.RESOURCE_EXHAUSTED : Status.ABORTED;
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
    } catch (OutputFiles.BadContentException e) {
      responses.onError(Status.DATA_LOSS.withDescription(e.getMessage()).asRuntimeException());
    } catch (IOException e) {
      log.warn("writing {} failed", request.getOutputPath(), e);
      responses.onError(Status.FAILED_PRECONDITION.withDescription("cannot write " + request.getOutputPath()
          + ": " + e.getMessage()).asRuntimeException());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      responses.onError(Status.CANCELLED.withDescription("daemon shutting down").asRuntimeException());
    } catch (RuntimeException e) {
      log.warn("download of {} failed", download.getUrl(), e);
      responses.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
    }
  }

  /** The wanted range cut to the content; null stays null (all of it). */
  private static ByteRange resolve(ByteRange wanted, TaskStore store) {
    if (wanted == null) {
      return null;
    }
    long length = store.contentLength();
    if (wanted.first() >= length) {
      throw new ByteRange.UnsatisfiableRangeException("range starts at " + wanted.first()
          + " but the content has " + length + " bytes");
    }
    return new ByteRange(wanted.first(), Math.min(wanted.last(), length - 1));
  }

  private TaskStore awaitWithProgress(String taskId, CompletableFuture<TaskStore> task,
      StreamObserver<DownloadResponse> responses) throws InterruptedException {
    while (true) {
      try {
        return task.get(PROGRESS_MILLIS, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        TaskStore store = tasks.pieceStore().find(taskId);
        if (store != null) {
          responses.onNext(DownloadResponse.newBuilder().setProgress(Progress.newBuilder()
              .setContentLength(store.contentLength())
              .setCompletedLength(store.finishedBytes())).build());
        }
      } catch (ExecutionException e) {
        throw unwrap(e);
      }
    }
  }

  /**
   * Sends the content back in order while the task is in flight: each stretch of verified
   * pieces goes out as soon as it joins the bytes already sent. Waits while the caller is not
   * ready for more, so a slow reader never makes the daemon buffer the file.
   */
  private TaskStore stream(String taskId, CompletableFuture<TaskStore> task, ByteRange wanted,
      ServerCallStreamObserver<DownloadResponse> responses) throws InterruptedException, IOException {
    TaskStore store = null;
    long next = wanted == null ? 0 : wanted.first();
    FileChannel data = null;
    ByteBuffer buffer = ByteBuffer.allocate(STREAM_CHUNK);
    try {
      while (true) {
        if (store == null) {
          store = tasks.pieceStore().find(taskId);
        }
        if (task.isCompletedExceptionally()) {
          return join(task);
        }
        long version = store == null ? 0 : store.version();
        long end = store == null || store.contentLength() < 0 ? -1
            : wanted == null ? store.contentLength() : Math.min(wanted.last() + 1, store.contentLength());
        if (end >= 0 && next >= end) {
          return join(task); // all sent; the task still confirms the end (or its failure)
        }
        long ready = store == null ? next : contiguousEnd(store, next, end);
        if (ready > next) {
          if (data == null) {
            data = FileChannel.open(store.dataPath(), StandardOpenOption.READ);
          }
          while (next < ready) {
            while (!responses.isReady()) {
              if (responses.isCancelled()) {
                throw new PeerTaskException("the reader went away");
              }
              Thread.sleep(2);
            }
            buffer.clear().limit((int) Math.min(STREAM_CHUNK, ready - next));
            int n = data.read(buffer, next);
            if (n <= 0) {
              throw new IOException("short read of the task's data at " + next);
            }
            buffer.flip();
            responses.onNext(DownloadResponse.newBuilder().setData(ByteString.copyFrom(buffer)).build());
            next += n;
          }
          continue;
        }
        if (store != null) {
          store.awaitChange(version, PROGRESS_MILLIS);
        } else {
          Thread.sleep(20);
        }
      }
    } finally {
      if (data != null) {
        data.close();
      }
    }
  }

  /** The end of the verified bytes that start at {@code from}, up to {@code end} (-1: unknown). */
  private static long contiguousEnd(TaskStore store, long from, long end) {
    long pieceLength = store.pieceLength();
    if (pieceLength <= 0 || end < 0) {
      return from; // the last piece's end is not known yet
    }
    long at = from;
    while (at < end && store.isFinished((int) (at / pieceLength))) {
      at = (at / pieceLength + 1) * pieceLength;
    }
    return Math.min(at, end);
  }

  private static TaskStore join(CompletableFuture<TaskStore> task) throws InterruptedException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      throw unwrap(e);
    }
  }

  private static RuntimeException unwrap(ExecutionException e) {
    if (e.getCause() instanceof RuntimeException cause) {
      return cause;
    }
    return new PeerTaskException(String.valueOf(e.getCause()));
  }

  @Override
  public void statTask(StatTaskRequest request, StreamObserver<TaskStat> responses) {
    TaskStore store = tasks.pieceStore().find(request.getTaskId());
    if (store == null) {
      responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId() + " is not here")
          .asRuntimeException());
      return;
    }
    responses.onNext(stat(store));
    responses.onCompleted();
  }

  private TaskStat stat(TaskStore store) {
    String state = store.isComplete() ? "SUCCEEDED"
        : tasks.isDownloading(store.taskId()) ? "RUNNING" : "PARTIAL";
    return TaskStat.newBuilder()
        .setTaskId(store.taskId())
        .setState(state)
        .setContentLength(store.contentLength())
        .setPieceCount(store.pieceCount())
        .setFinishedPieces(store.finishedCount())
        .setTraffic(store.traffic().snapshot())
        .build();
  }

  @Override
  public void setLimits(SetLimitsRequest request, StreamObserver<Limits> responses) {
    if (request.hasDownloadRate()) {
      tasks.downloadRate().setRate(request.getDownloadRate());
    }
    if (request.hasUploadRate()) {
      uploadRate.setRate(request.getUploadRate());
    }
    if (request.hasTaskRate()) {
      PeerTask task = tasks.active(request.getTaskId());
      if (task == null) {
        responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId()
            + " is not downloading here").asRuntimeException());
        return;
      }
      task.setRate(request.getTaskRate());
    }
    log.info("limits now: download {} B/s, upload {} B/s (0 = unlimited)", tasks.downloadRate().rate(),
        uploadRate.rate());
    responses.onNext(Limits.newBuilder()
        .setDownloadRate(Math.max(0, tasks.downloadRate().rate()))
        .setUploadRate(Math.max(0, uploadRate.rate()))
        .setMaxConcurrentUploads(maxConcurrentUploads)
        .build());
    responses.onCompleted();
  }

  @Override
  public void importTask(ImportTaskRequest request, StreamObserver<TaskStat> responses) {
    Thread.ofVirtual().name("import").start(() -> {
      try {
        Path path = Path.of(request.getPath());
        if (!path.isAbsolute()) {
          throw new IllegalArgumentException("path " + path + " is not absolute");
        }
        responses.onNext(stat(tasks.importFile(request.getCid(), path)));
        responses.onCompleted();
      } catch (IllegalArgumentException e) {
        responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      } catch (NoSuchFileException e) {
        responses.onError(Status.NOT_FOUND.withDescription("no file " + e.getFile()).asRuntimeException());
      } catch (GarbageCollector.StoreFullException e) {
        responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
      } catch (IOException | RuntimeException e) {
        responses.onError(Status.INTERNAL.withDescription("import failed: " + e.getMessage()).asRuntimeException());
      }
    });
  }

  @Override
  public void deleteTask(DeleteTaskRequest request, StreamObserver<Empty> responses) {
    try {
      if (tasks.isDownloading(request.getTaskId())) {
        responses.onError(Status.FAILED_PRECONDITION.withDescription("task " + request.getTaskId()
            + " is downloading; delete it once it ends").asRuntimeException());
        return;
      }
      if (!tasks.pieceStore().remove(request.getTaskId())) {
        responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId() + " is not here")
            .asRuntimeException());
        return;
      }
      responses.onNext(Empty.getDefaultInstance());
      responses.onCompleted();
    } catch (IOException e) {
      responses.onError(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
    }
  }
}
