package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.source.SourceClients;
import io.dfly.source.http.BulkHttpClient;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tasks this host downloads: at most one {@link PeerTask} per task at a time, however many
 * dfget calls or seed triggers ask for it; a finished task is answered from the piece store.
 */
public final class TaskManager {
  private static final Logger log = LoggerFactory.getLogger(TaskManager.class);
  private final DaemonConfig config;
  private final Host host;
  private final PieceStore pieceStore;
  private final SchedulerClient scheduler;
  private final PeerChannels peerChannels;
  private final SourceClients sources = SourceClients.get();
  private final BulkHttpClient httpClient;
  private final ConcurrentHashMap<String, PeerTask> active = new ConcurrentHashMap<>();
  private volatile GarbageCollector gc;

  public TaskManager(DaemonConfig config, Host host, PieceStore pieceStore, SchedulerClient scheduler,
      PeerChannels peerChannels) {
    this.config = config;
    this.host = host;
    this.pieceStore = pieceStore;
    this.scheduler = scheduler;
    this.peerChannels = peerChannels;
    this.httpClient = new BulkHttpClient(Duration.ofSeconds(5), Duration.ofSeconds(config.pieceTimeoutSeconds));
  }

  /** Starts the task or joins its running download; completes once every piece is here. */
  public CompletableFuture<TaskStore> download(Download download) {
    sources.checkUrl(download.getUrl());
    String taskId = TaskId.of(download);
    TaskStore existing = pieceStore.find(taskId);
    if (existing != null && existing.isComplete()) {
      if (existing.isIntact()) {
        existing.touch();
        return CompletableFuture.completedFuture(existing);
      }
      log.warn("task {}: the cached data file was changed after it completed; fetching it again", taskId);
      removeQuietly(taskId);
    }
    PeerTask task = active.computeIfAbsent(taskId, id -> {
      String peerId = host.getId() + "-" + UUID.randomUUID();
      TaskStore store = pieceStore.open(id);
      store.recordDownload(download);
      store.touch();
      PeerTask created = new PeerTask(this, download, id, peerId, store);
      created.result().whenComplete((done, error) -> active.remove(id, created));
      created.start();
      return created;
    });
    return task.result();
  }

  public void useGarbageCollector(GarbageCollector collector) {
    this.gc = collector;
  }

  /** Makes room in the store for the rest of a task, evicting unused tasks if need be. */
  void makeRoom(TaskStore store) throws GarbageCollector.StoreFullException {
    GarbageCollector collector = gc;
    if (collector != null && store.contentLength() > 0) {
      collector.makeRoom(store.contentLength() - store.finishedBytes(), store.taskId());
    }
  }

  /** Resumes the tasks a previous run of this daemon had not finished. */
  public void resumeUnfinished() {
    for (TaskStore store : pieceStore.unfinished()) {
      log.info("task {}: resuming with {} of {} pieces", store.taskId(), store.finishedCount(), store.pieceCount());
      download(store.download()).whenComplete((done, error) -> {
        if (error != null) {
          log.warn("task {}: resumed download failed: {}", store.taskId(), error.getMessage());
        }
      });
    }
  }

  private void removeQuietly(String taskId) {
    try {
      pieceStore.remove(taskId);
    } catch (java.io.IOException e) {
      log.warn("task {}: cannot remove its files: {}", taskId, e.getMessage());
    }
  }

  /** True while this host is downloading the task. */
  public boolean isDownloading(String taskId) {
    return active.containsKey(taskId);
  }

  public PieceStore pieceStore() {
    return pieceStore;
  }

  DaemonConfig config() {
    return config;
  }

  Host host() {
    return host;
  }

  SchedulerClient scheduler() {
    return scheduler;
  }

  PeerChannels peerChannels() {
    return peerChannels;
  }

  SourceClients sources() {
    return sources;
  }

  BulkHttpClient httpClient() {
    return httpClient;
  }
}
