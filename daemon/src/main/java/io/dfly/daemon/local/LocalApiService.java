package io.dfly.daemon.local;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Priority;
import io.dfly.api.dfdaemon.v1.TrafficStat;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.net.ByteRange;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.local.LocalApi.ErrorKind;
import io.dfly.daemon.output.OutputFiles;
import io.dfly.daemon.peer.InOrderReader;
import io.dfly.daemon.peer.PeerTask;
import io.dfly.daemon.peer.PeerTaskException;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.TaskStore;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the local API's calls do: download a URL into a file or back to the caller in order,
 * task stats, imports and deletes, and the host's rate limits.
 */
final class LocalApiService {
  private static final Logger log = LoggerFactory.getLogger(LocalApiService.class);
  private static final long PROGRESS_MILLIS = 300;

  private final TaskManager tasks;
  private final RateLimiter uploadRate;
  private final int maxConcurrentUploads;

  LocalApiService(TaskManager tasks, RateLimiter uploadRate, int maxConcurrentUploads) {
    this.tasks = tasks;
    this.uploadRate = uploadRate;
    this.maxConcurrentUploads = maxConcurrentUploads;
  }

  boolean serves(String path) {
    return switch (path) {
      case LocalApi.DOWNLOAD, LocalApi.STAT, LocalApi.IMPORT, LocalApi.DELETE, LocalApi.LIMITS -> true;
      default -> false;
    };
  }

  /** Runs one call; every outcome ends in a RESULT or an ERROR frame unless the caller has gone. */
  void call(String path, Map<String, List<String>> fields, Frames frames) {
    Fields request = new Fields(fields);
    try {
      LocalApi.Form result = switch (path) {
        case LocalApi.DOWNLOAD -> download(request, frames);
        case LocalApi.STAT -> stat(store(request.required("task-id")));
        case LocalApi.IMPORT -> importFile(request);
        case LocalApi.DELETE -> delete(request.required("task-id"));
        case LocalApi.LIMITS -> limits(request);
        default -> throw new IllegalArgumentException("no such call: " + path);
      };
      frames.result(result);
    } catch (Failure e) {
      answer(frames, e.kind, e.getMessage());
    } catch (IllegalArgumentException | ByteRange.UnsatisfiableRangeException e) {
      answer(frames, ErrorKind.BAD_REQUEST, e.getMessage());
    } catch (PeerTaskException e) {
      answer(frames, e.isStorage() ? ErrorKind.NO_SPACE : ErrorKind.FAILED, e.getMessage());
    } catch (GarbageCollector.StoreFullException e) {
      answer(frames, ErrorKind.NO_SPACE, e.getMessage());
    } catch (OutputFiles.BadContentException e) {
      answer(frames, ErrorKind.BAD_CONTENT, e.getMessage());
    } catch (OutputWriteException e) {
      log.warn("{}", e.getMessage(), e.getCause());
      answer(frames, ErrorKind.CANNOT_WRITE, e.getMessage());
    } catch (IOException e) {
      if (frames.isOpen()) {
        log.warn("local call {} failed", path, e);
        answer(frames, ErrorKind.FAILED, String.valueOf(e.getMessage()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answer(frames, ErrorKind.FAILED, "the daemon is shutting down");
    } catch (RuntimeException e) {
      log.warn("local call {} failed", path, e);
      answer(frames, ErrorKind.FAILED, String.valueOf(e.getMessage()));
    }
  }

  private static void answer(Frames frames, ErrorKind kind, String message) {
    try {
      frames.error(kind, message);
    } catch (IOException e) {
      log.debug("the caller left before the error '{}' reached it", message);
    }
  }

  // ---- download ------------------------------------------------------------------------------

  private LocalApi.Form download(Fields request, Frames frames)
      throws IOException, InterruptedException, Failure {
    String outputField = request.optional("output");
    Path output = outputField == null ? null : Path.of(outputField);
    if (output != null && !output.isAbsolute()) {
      throw new IllegalArgumentException("output path " + output + " is not absolute");
    }
    String rangeField = request.optional("range");
    ByteRange wanted = rangeField == null ? null : ByteRange.parseWanted(rangeField);
    Download download = download(request);
    ContentDigest expected = download.getDigest().isEmpty() ? null : ContentDigest.parse(download.getDigest());
    if (output == null && expected != null) {
      throw new IllegalArgumentException("--digest needs an output file: bytes sent to stdout cannot be taken back");
    }
    String rate = request.optional("rate-limit");
    String taskId = TaskId.of(download);
    boolean toCaller = output == null;
    CompletableFuture<TaskStore> task = tasks.download(download, rate == null ? 0 : Long.parseLong(rate), wanted,
        toCaller || wanted != null);
    boolean cacheHit = task.isDone() && !task.isCompletedExceptionally();
    TaskStore store;
    if (toCaller) {
      store = stream(taskId, task, wanted, frames);
    } else {
      store = awaitWithProgress(taskId, task, frames);
      if (!frames.isOpen()) {
        throw new IOException("the caller left before " + output + " was written");
      }
      try {
        OutputFiles.publish(store.dataPath(), resolve(wanted, store), output, expected);
      } catch (OutputFiles.BadContentException e) {
        throw e;
      } catch (IOException e) {
        throw new OutputWriteException("cannot write " + output + ": " + e.getMessage(), e);
      }
    }
    TrafficStat traffic = store.traffic().snapshot();
    return new LocalApi.Form()
        .add("task-id", taskId)
        .add("content-length", wanted == null ? store.contentLength() : resolve(wanted, store).length())
        .add("cache-hit", cacheHit)
        .add("from-origin", traffic.getFromOrigin())
        .add("from-seed-peers", traffic.getFromSeedPeers())
        .add("from-peers", traffic.getFromPeers());
  }

  private static Download download(Fields request) {
    Download.Builder download = Download.newBuilder()
        .setUrl(request.required("url"))
        .setTag(request.optional("tag", ""))
        .setApplication(request.optional("application", ""))
        .addAllFilteredQueryParams(TaskId.parseFilter(request.optional("filtered-query-params", "")))
        .setDigest(request.optional("digest", ""))
        .setPriority(priority(request.optional("priority", "normal")))
        .setDisableBackToSource(Boolean.parseBoolean(request.optional("disable-back-to-source", "false")));
    for (String header : request.all("header")) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("header '" + header + "' is not of the form 'Name: value'");
      }
      download.putHeaders(header.substring(0, colon).trim(), header.substring(colon + 1).trim());
    }
    return download.build();
  }

  private static Priority priority(String level) {
    return switch (level) {
      case "low" -> Priority.PRIORITY_LOW;
      case "normal" -> Priority.PRIORITY_NORMAL;
      case "high" -> Priority.PRIORITY_HIGH;
      default -> throw new IllegalArgumentException("priority '" + level + "' is not low, normal or high");
    };
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

  private TaskStore awaitWithProgress(String taskId, CompletableFuture<TaskStore> task, Frames frames)
      throws InterruptedException, IOException {
    while (true) {
      try {
        return task.get(PROGRESS_MILLIS, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        TaskStore store = tasks.pieceStore().find(taskId);
        if (store != null) {
          frames.progress(store.finishedBytes(), store.contentLength());
        }
      } catch (ExecutionException e) {
        throw unwrap(e);
      }
    }
  }

  /**
   * Sends the content back in order while the task is in flight: each stretch of verified
   * pieces goes out as soon as it joins the bytes already sent, straight from the data file.
   */
  private TaskStore stream(String taskId, CompletableFuture<TaskStore> task, ByteRange wanted, Frames frames)
      throws InterruptedException, IOException {
    try (InOrderReader reader = new InOrderReader(tasks, taskId, task)) {
      long total = reader.awaitContentLength();
      if (wanted != null && wanted.first() >= total) {
        throw new ByteRange.UnsatisfiableRangeException("range starts at " + wanted.first()
            + " but the content has " + total + " bytes");
      }
      long next = wanted == null ? 0 : wanted.first();
      long end = wanted == null ? total : Math.min(wanted.last() + 1, total);
      while (next < end) {
        long ready = reader.awaitReadable(next, end);
        frames.data(reader.dataPath(), next, ready - next);
        next = ready;
      }
      return reader.join(); // all sent; the task still confirms the end (or its failure)
    }
  }

  private static RuntimeException unwrap(ExecutionException e) {
    if (e.getCause() instanceof RuntimeException cause) {
      return cause;
    }
    return new PeerTaskException(String.valueOf(e.getCause()));
  }

  // ---- cache and limits ----------------------------------------------------------------------

  private TaskStore store(String taskId) throws Failure {
    TaskStore store = tasks.pieceStore().find(taskId);
    if (store == null) {
      throw new Failure(ErrorKind.NOT_FOUND, "task " + taskId + " is not here");
    }
    return store;
  }

  private LocalApi.Form stat(TaskStore store) {
    String state = store.isComplete() ? "SUCCEEDED"
        : tasks.isDownloading(store.taskId()) ? "RUNNING" : "PARTIAL";
    TrafficStat traffic = store.traffic().snapshot();
    return new LocalApi.Form()
        .add("task-id", store.taskId())
        .add("state", state)
        .add("content-length", store.contentLength())
        .add("piece-count", store.pieceCount())
        .add("finished-pieces", store.finishedCount())
        .add("from-origin", traffic.getFromOrigin())
        .add("from-seed-peers", traffic.getFromSeedPeers())
        .add("from-peers", traffic.getFromPeers());
  }

  private LocalApi.Form importFile(Fields request) throws IOException, Failure {
    Path path = Path.of(request.required("path"));
    if (!path.isAbsolute()) {
      throw new IllegalArgumentException("path " + path + " is not absolute");
    }
    try {
      return stat(tasks.importFile(request.required("cid"), path));
    } catch (NoSuchFileException e) {
      throw new Failure(ErrorKind.NOT_FOUND, "no file " + e.getFile());
    }
  }

  private LocalApi.Form delete(String taskId) throws IOException, Failure {
    if (tasks.isDownloading(taskId)) {
      throw new Failure(ErrorKind.BUSY, "task " + taskId + " is downloading; delete it once it ends");
    }
    if (!tasks.pieceStore().remove(taskId)) {
      throw new Failure(ErrorKind.NOT_FOUND, "task " + taskId + " is not here");
    }
    return new LocalApi.Form().add("task-id", taskId);
  }

  private LocalApi.Form limits(Fields request) throws Failure {
    String downloadRate = request.optional("download-rate");
    String hostUploadRate = request.optional("upload-rate");
    String taskId = request.optional("task-id");
    String taskRate = request.optional("task-rate");
    if ((taskId == null) != (taskRate == null)) {
      throw new IllegalArgumentException("task-id and task-rate go together");
    }
    if (taskId != null) {
      PeerTask task = tasks.active(taskId);
      if (task == null) {
        throw new Failure(ErrorKind.NOT_FOUND, "task " + taskId + " is not downloading here");
      }
      task.setRate(Long.parseLong(taskRate));
    }
    if (downloadRate != null) {
      tasks.downloadRate().setRate(Long.parseLong(downloadRate));
    }
    if (hostUploadRate != null) {
      uploadRate.setRate(Long.parseLong(hostUploadRate));
    }
    log.info("limits now: download {} B/s, upload {} B/s (0 = unlimited)", tasks.downloadRate().rate(),
        uploadRate.rate());
    return new LocalApi.Form()
        .add("download-rate", Math.max(0, tasks.downloadRate().rate()))
        .add("upload-rate", Math.max(0, uploadRate.rate()))
        .add("max-concurrent-uploads", maxConcurrentUploads);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** A call that ends in a known error kind. */
  private static final class Failure extends Exception {
    final ErrorKind kind;

    Failure(ErrorKind kind, String message) {
      super(message);
      this.kind = kind;
    }
  }

  /** Writing the output path failed (not the download). */
  private static final class OutputWriteException extends IOException {
    OutputWriteException(String message, IOException cause) {
      super(message, cause);
    }
  }

  /** A call's form fields. */
  private record Fields(Map<String, List<String>> fields) {
    String optional(String name) {
      List<String> values = fields.get(name);
      return values == null || values.isEmpty() ? null : values.getFirst();
    }

    String optional(String name, String fallback) {
      String value = optional(name);
      return value == null ? fallback : value;
    }

    String required(String name) {
      String value = optional(name);
      if (value == null || value.isEmpty()) {
        throw new IllegalArgumentException("the call needs the field '" + name + "'");
      }
      return value;
    }

    List<String> all(String name) {
      return fields.getOrDefault(name, List.of());
    }
  }
}
