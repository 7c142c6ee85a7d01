package io.dfly.daemon.rpc;

import io.dfly.api.common.v1.Download;
import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.DownloadRequest;
import io.dfly.api.dfdaemon.v1.DownloadResponse;
import io.dfly.api.dfdaemon.v1.DownloadResult;
import io.dfly.api.dfdaemon.v1.Progress;
import io.dfly.api.dfdaemon.v1.StatTaskRequest;
import io.dfly.api.dfdaemon.v1.TaskStat;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.output.OutputFiles;
import io.dfly.daemon.peer.PeerTaskException;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.TaskStore;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** dfget's side of the daemon: download a URL into a file, with progress; task stats. */
public final class DownloadService extends DfdaemonDownloadGrpc.DfdaemonDownloadImplBase {
  private static final Logger log = LoggerFactory.getLogger(DownloadService.class);
  private static final long PROGRESS_MILLIS = 300;

  private final TaskManager tasks;

  public DownloadService(TaskManager tasks) {
    this.tasks = tasks;
  }

  @Override
  public void download(DownloadRequest request, StreamObserver<DownloadResponse> responses) {
    Thread.ofVirtual().name("download").start(() -> serve(request, responses));
  }

  private void serve(DownloadRequest request, StreamObserver<DownloadResponse> responses) {
    Download download = request.getDownload();
    try {
      Path output = Path.of(request.getOutputPath());
      if (!output.isAbsolute()) {
        throw new IllegalArgumentException("output path " + output + " is not absolute");
      }
      ContentDigest expected = download.getDigest().isEmpty() ? null : ContentDigest.parse(download.getDigest());
      String taskId = TaskId.of(download);
      CompletableFuture<TaskStore> task = tasks.download(download);
      boolean cacheHit = task.isDone();
      TaskStore store = awaitWithProgress(taskId, task, responses);
      OutputFiles.publish(store.dataPath(), null, output, expected);
      responses.onNext(DownloadResponse.newBuilder().setResult(DownloadResult.newBuilder()
          .setTaskId(taskId)
          .setContentLength(store.contentLength())
          .setCacheHit(cacheHit)
          .setTraffic(store.traffic().snapshot())).build());
      responses.onCompleted();
    } catch (IllegalArgumentException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    } catch (PeerTaskException | OutputFiles.BadContentException e) {
      responses.onError(Status.ABORTED.withDescription(e.getMessage()).asRuntimeException());
    } catch (IOException e) {
      log.warn("writing {} failed", request.getOutputPath(), e);
      responses.onError(Status.INTERNAL.withDescription("cannot write " + request.getOutputPath() + ": "
          + e.getMessage()).asRuntimeException());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      responses.onError(Status.CANCELLED.withDescription("daemon shutting down").asRuntimeException());
    } catch (RuntimeException e) {
      log.warn("download of {} failed", download.getUrl(), e);
      responses.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
    }
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
        if (e.getCause() instanceof RuntimeException cause) {
          throw cause;
        }
        throw new PeerTaskException(String.valueOf(e.getCause()));
      }
    }
  }

  @Override
  public void statTask(StatTaskRequest request, StreamObserver<TaskStat> responses) {
    TaskStore store = tasks.pieceStore().find(request.getTaskId());
    if (store == null) {
      responses.onError(Status.NOT_FOUND.withDescription("task " + request.getTaskId() + " is not here")
          .asRuntimeException());
      return;
    }
    String state = store.isComplete() ? "SUCCEEDED"
        : tasks.isDownloading(store.taskId()) ? "RUNNING" : "FAILED";
    responses.onNext(TaskStat.newBuilder()
        .setTaskId(store.taskId())
        .setState(state)
        .setContentLength(store.contentLength())
        .setPieceCount(store.pieceCount())
        .setFinishedPieces(store.finishedCount())
        .setTraffic(store.traffic().snapshot())
        .build());
    responses.onCompleted();
  }
}
