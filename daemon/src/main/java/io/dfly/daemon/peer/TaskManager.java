package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.source.SourceClients;
import io.dfly.source.http.BulkHttpClient;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tasks this host downloads: at most one {@link PeerTask} per task at a time, however many
 * dfget calls or seed triggers ask for it; a finished task is answered from the piece store.
 */
public final class TaskManager {
  private final DaemonConfig config;
  private final Host host;
  private final PieceStore pieceStore;
  private final SchedulerClient scheduler;
  private final PeerChannels peerChannels;
  private final SourceClients sources = SourceClients.get();
  private final BulkHttpClient httpClient;
  private final ConcurrentHashMap<String, PeerTask> active = new ConcurrentHashMap<>();

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
      return CompletableFuture.completedFuture(existing);
    }
    PeerTask task = active.computeIfAbsent(taskId, id -> {
      String peerId = host.getId() + "-" + UUID.randomUUID();
      PeerTask created = new PeerTask(this, download, id, peerId, pieceStore.open(id));
      created.result().whenComplete((store, error) -> active.remove(id, created));
      created.start();
      return created;
    });
    return task.result();
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
