package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.Priority;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.net.ByteRange;
import io.dfly.common.piece.PieceMath;
import io.dfly.common.task.TaskId;
import io.dfly.common.unit.ByteSize;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.source.SourceClients;
import io.dfly.source.http.BulkHttpClient;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tasks this host downloads: at most one {@link PeerTask} per task at a time, however many
 * dfget calls or seed triggers ask for it; a finished task is answered from the piece store.
 */
public final class TaskManager {
  private static final Logger log = LoggerFactory.getLogger(TaskManager.class);
  /** URL scheme of files put into the cache by dfcache import. */
  public static final String CACHE_SCHEME = "cid://";
  private final DaemonConfig config;
  private final Host host;
  private final PieceStore pieceStore;
  private final SchedulerClient scheduler;
  private final PeerChannels peerChannels;
  private final SourceClients sources;
  private final BulkHttpClient httpClient;
  private final ConcurrentHashMap<String, PeerTask> active = new ConcurrentHashMap<>();
  /** Signalled whenever a download joins {@link #active}, for {@link #awaitTask}. */
  private final ReentrantLock startLock = new ReentrantLock();
  private final Condition started = startLock.newCondition();
  private volatile GarbageCollector gc;
  private final RateLimiter downloadRate;

  public TaskManager(DaemonConfig config, Host host, PieceStore pieceStore, SchedulerClient scheduler,
      PeerChannels peerChannels) {
    this(config, host, pieceStore, scheduler, peerChannels,
        new RateLimiter(config.downloadRate.isBlank() ? 0 : ByteSize.parse(config.downloadRate)));
  }

  /** As the public constructor, with the host's download rate given: for tests, a limiter on their own clock. */
  TaskManager(DaemonConfig config, Host host, PieceStore pieceStore, SchedulerClient scheduler,
      PeerChannels peerChannels, RateLimiter downloadRate) {
    this.config = config;
    this.host = host;
    this.pieceStore = pieceStore;
    this.scheduler = scheduler;
    this.peerChannels = peerChannels;
    this.sources = SourceClients.create(config.source);
    this.downloadRate = downloadRate;
    this.httpClient = new BulkHttpClient(Duration.ofSeconds(5), Duration.ofSeconds(config.pieceTimeoutSeconds));
  }

  /** Starts the task or joins its running download; completes once every piece is here. */
  public CompletableFuture<TaskStore> download(Download download) {
    return download(download, 0, null, false);
  }

  /**
   * Starts the task or joins its running download, for all of it or one range ({@code range}
   * null for all); completes once those bytes are verified here. {@code rateLimit} is this
   * task's own download rate in bytes per second (0: only the host's); joining a running
   * download sets its limit to the new one. {@code inOrder}: the caller reads the bytes as they
   * arrive, so the next missing pieces go first.
   */
  public CompletableFuture<TaskStore> download(Download requested, long rateLimit, ByteRange range,
      boolean inOrder) {
    return download(requested, rateLimit, range, inOrder, "");
  }

  /**
   * A scheduler triggered this seed peer: it fetches the task as the peer {@code peerId} the
   * scheduler named (empty: under an id of its own), or announces it under that id when it is
   * complete here, so that the seed peer the scheduler offers already registers either way. A
   * download of the task running here goes on under its own id.
   */
  public void seed(Download download, String peerId) {
    TaskStore existing = pieceStore.find(TaskId.of(download));
    if (existing != null && existing.isComplete() && existing.isIntact()) {
      announceFinished(existing, peerId);
    } else {
      download(download, 0, null, false, peerId);
    }
  }

  /** As {@link #download(Download, long, ByteRange, boolean)}, a new download as {@code peerId} (empty: a new id). */
  private CompletableFuture<TaskStore> download(Download requested, long rateLimit, ByteRange range,
      boolean inOrder, String peerId) {
    // Imported files have no origin: only peers that hold them can serve them.
    boolean imported = requested.getUrl().startsWith(CACHE_SCHEME);
    if (!imported) {
      sources.checkUrl(requested.getUrl());
    }
    Download download = imported ? requested.toBuilder().setDisableBackToSource(true).build() : requested;
    String taskId = TaskId.of(download);
    TaskStore existing = pieceStore.find(taskId);
    if (existing != null && existing.isComplete()) {
      if (existing.isIntact()) {
        existing.touch();
        return CompletableFuture.completedFuture(existing);
      }
      log.warn("task {}: the cached data file was changed after it completed; fetching it again", taskId);
      removeQuietly(taskId);
    } else if (existing != null && range != null && !isDownloading(taskId) && existing.contentLength() > range.first()
        && existing.hasRange(range.first(), Math.min(range.last(), existing.contentLength() - 1))) {
      existing.touch();
      return CompletableFuture.completedFuture(existing);
    }
    return join(taskId, download, rateLimit, range, inOrder, peerId);
  }

  /**
   * A task's weight in the host's download rate when tasks compete for it: a high-priority task
   * gets four times, a normal one twice what a low one gets (see {@link RateLimiter#child(long, int)}).
   */
  static int shareWeight(Priority priority) {
    return switch (priority) {
      case PRIORITY_LOW -> 1;
      case PRIORITY_HIGH -> 4;
      default -> 2;
    };
  }

  private CompletableFuture<TaskStore> join(String taskId, Download download, long rateLimit, ByteRange range,
      boolean inOrder, String peerId) {
    while (true) {
      PeerTask task = active.computeIfAbsent(taskId, id -> {
        TaskStore store = pieceStore.open(id);
        store.recordDownload(download);
        store.touch();
        String self = peerId.isEmpty() ? host.getId() + "-" + UUID.randomUUID() : peerId;
        PeerTask created = new PeerTask(this, download, id, self, store,
            downloadRate.child(rateLimit, shareWeight(download.getPriority())));
        created.result().whenComplete((done, error) -> active.remove(id, created));
        return created;
      });
      taskStarted();
      CompletableFuture<TaskStore> wanted = task.want(range, inOrder);
      if (wanted != null) {
        if (rateLimit > 0) {
          task.setRate(rateLimit);
        }
        return wanted;
      }
      active.remove(taskId, task); // it ended just now: start another
    }
  }

  /**
   * Tells the scheduler that this host has a finished task (after an import or a restart), so
   * that it is handed out as a parent: a peer task over a complete store registers, reports its
   * pieces and finishes at once.
   */
  public void announceFinished(TaskStore store) {
    announceFinished(store, "");
  }

  /** As {@link #announceFinished(TaskStore)}, as the peer {@code peerId} (empty: a new id). */
  private void announceFinished(TaskStore store, String peerId) {
    Download download = store.download();
    if (download == null || !store.isComplete()) {
      return;
    }
    join(store.taskId(), download, 0, null, false, peerId).whenComplete((done, error) -> {
      if (error != null) {
        log.warn("task {}: announcing it failed: {}", store.taskId(), error.getMessage());
      }
    });
  }

  /** The download request of an imported file with cache id {@code cid}. */
  public static Download cacheDownload(String cid) {
    if (cid.isBlank()) {
      throw new IllegalArgumentException("a cache id must not be empty");
    }
    return Download.newBuilder().setUrl(CACHE_SCHEME + cid).setDisableBackToSource(true).build();
  }

  /**
   * Puts a local file into the store as a finished, pinned task under a cache id, cut into
   * pieces with digests like any download, and announces it so that other hosts can fetch it.
   */
  public TaskStore importFile(String cid, Path file) throws IOException {
    Download download = cacheDownload(cid);
    String taskId = TaskId.of(download);
    TaskStore existing = pieceStore.find(taskId);
    if (existing != null && existing.isComplete()) {
      throw new IllegalArgumentException("cache id " + cid + " is already here (task " + taskId
          + "); delete it first to replace it");
    }
    if (isDownloading(taskId)) {
      throw new IllegalArgumentException("cache id " + cid + " is being downloaded here");
    }
    try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
      long length = in.size();
      long pieceLength = PieceMath.pieceLength(length);
      TaskStore store = pieceStore.open(taskId);
      store.recordDownload(download);
      GarbageCollector collector = gc;
      if (collector != null) {
        collector.makeRoom(length, taskId);
      }
      store.setLayout(length, pieceLength);
      int count = PieceMath.pieceCount(length, pieceLength);
      for (int n = 0; n < count; n++) {
        long offset = PieceMath.offset(n, pieceLength);
        long pieceBytes = PieceMath.length(n, pieceLength, length);
        in.position(offset);
        store.markFinished(store.readPiece(in, n, offset, pieceBytes, true));
      }
      store.markComplete();
      pieceStore.pin(store);
      log.info("imported {} as cache id {} (task {}, {} bytes, pinned)", file, cid, taskId, length);
      announceFinished(store);
      return store;
    }
  }

  /** The host's total download rate, shared by every task. */
  public RateLimiter downloadRate() {
    return downloadRate;
  }

  /** The running download of a task, or null. */
  public PeerTask active(String taskId) {
    return active.get(taskId);
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

  /**
   * Tasks whose ids pass {@code moved} changed scheduler (one went down or came back) or their
   * scheduler restarted and lost them: running downloads move to the new owner, and finished
   * tasks are announced to it again.
   */
  public void tasksMoved(java.util.function.Predicate<String> moved) {
    for (PeerTask task : active.values()) {
      if (moved.test(task.taskId())) {
        task.schedulerMoved();
      }
    }
    for (TaskStore store : pieceStore.tasks()) {
      if (store.isComplete() && moved.test(store.taskId())) {
        log.info("task {}: announcing it again to its scheduler", store.taskId());
        announceFinished(store);
      }
    }
  }

  /** Announces the finished tasks and resumes the unfinished ones a previous run of this daemon left. */
  public void restoreTasks() {
    for (TaskStore store : pieceStore.tasks()) {
      announceFinished(store);
    }
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

  /**
   * The task's store, waiting up to {@code timeout} until the task is complete here or
   * downloading: the scheduler offers a seed peer from the moment it triggers it, so a child may
   * ask it for pieces before the trigger has arrived. Null when this host has nothing of the task.
   */
  public TaskStore awaitTask(String taskId, Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    startLock.lock();
    try {
      while (left > 0 && !isCompleteOrDownloading(taskId)) {
        left = started.awaitNanos(left);
      }
    } finally {
      startLock.unlock();
    }
    return pieceStore.find(taskId);
  }

  private boolean isCompleteOrDownloading(String taskId) {
    TaskStore store = pieceStore.find(taskId);
    return store != null && (store.isComplete() || isDownloading(taskId));
  }

  /** Wakes {@link #awaitTask}: a download may have started. */
  private void taskStarted() {
    startLock.lock();
    try {
      started.signalAll();
    } finally {
      startLock.unlock();
    }
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
