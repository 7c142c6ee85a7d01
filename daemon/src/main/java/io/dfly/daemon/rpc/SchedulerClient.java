package io.dfly.daemon.rpc;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.LeaveHostRequest;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.common.digest.Digests;
import io.dfly.common.net.HostPort;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.dfly.common.auth.ClusterToken;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's link to its schedulers: announces the host to every scheduler and opens each
 * task's peer stream on the scheduler that owns the task, by rendezvous hashing of the task id
 * over the schedulers that are up, so every peer of a task meets on the same one.
 *
 * <p>A scheduler whose announce or peer stream fails as unreachable is marked down: its tasks
 * move to their next scheduler in the hash, and it is probed again with exponential backoff
 * until it takes an announce. It takes its tasks back only after answering for a settling
 * time (one announce interval), by which every host has announced itself to it again, so it
 * knows the seed peers before peers move to it. Whenever tasks change owner (a scheduler went
 * down, came back, or came back empty), the listener hears which task ids moved, so the host
 * can move its running downloads and announce its finished tasks to the new owner.
 *
 * <p>Finished-piece reports on a peer stream are gathered for a few milliseconds into one
 * message: a fast download finishes hundreds of pieces a second, and each message cost the
 * scheduler (and this host) far more than the few bytes of one report.
 */
public final class SchedulerClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SchedulerClient.class);
  private static final long FIRST_RETRY_MILLIS = 500;
  private static final long MAX_RETRY_MILLIS = 30_000;
  private static final long PROBE_TIMEOUT_MILLIS = 2_000;
  /** How long a finished-piece report waits for others to share its message. */
  static final Duration REPORT_WINDOW = Duration.ofMillis(20);

  private final Host host;
  private final long settleNanos;
  /** Samples the host's load for each announcement; null until set. */
  private volatile Supplier<HostLoad> load;
  private final List<Endpoint> endpoints = new ArrayList<>();
  private final ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("scheduler-probe").factory());
  /** Sends gathered piece reports; apart from the prober, whose announces may block for seconds. */
  private final ScheduledExecutorService reports = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("scheduler-reports").factory());
  private final long reportWindowNanos;
  private volatile Consumer<Predicate<String>> tasksMoved = moved -> { };
  private volatile boolean closed;

  /** A task's peer stream and the scheduler it is open on. */
  public record PeerStream(StreamObserver<AnnouncePeerRequest> requests, String scheduler) {}

  private static final class Endpoint {
    final HostPort address;
    final ManagedChannel channel;
    volatile boolean up = true;
    /** The announce in flight: concurrent callers (many broken streams at once) share its answer. */
    final AtomicReference<CompletableFuture<Boolean>> announcing = new AtomicReference<>();
    // guarded by the client
    long retryMillis;
    ScheduledFuture<?> probe;
    /** While down: when it answered again (0 when it has not), for the settling time. */
    long answeringSinceNanos;

    Endpoint(HostPort address, ManagedChannel channel) {
      this.address = address;
      this.channel = channel;
    }
  }

  /**
   * @param settle how long a scheduler that was down must answer before tasks move back to it,
   *     while another one is up; the hosts' announce interval
   * @param token the cluster token every call carries
   */
  public SchedulerClient(List<HostPort> schedulers, Host host, Duration settle, ClusterToken token) {
    this(schedulers, host, settle, token, REPORT_WINDOW);
  }

  /** @param reportWindow how long a finished-piece report waits for others to share its message */
  SchedulerClient(List<HostPort> schedulers, Host host, Duration settle, ClusterToken token, Duration reportWindow) {
    this.reportWindowNanos = reportWindow.toNanos();
    if (schedulers.isEmpty()) {
      throw new IllegalArgumentException("no scheduler address given (--scheduler HOST:PORT)");
    }
    this.host = host;
    this.settleNanos = settle.toNanos();
    for (HostPort address : schedulers) {
      ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port())
          .usePlaintext()
          .intercept(token.clientInterceptor())
          .build();
      Endpoint endpoint = new Endpoint(address, channel);
      endpoints.add(endpoint);
      watchConnection(endpoint, channel.getState(false));
    }
  }

  public Host host() {
    return host;
  }

  /** Where each announcement gets the host's current load from. */
  public void reportLoad(Supplier<HostLoad> sampler) {
    load = sampler;
  }

  private AnnounceHostRequest announceRequest() {
    AnnounceHostRequest.Builder request = AnnounceHostRequest.newBuilder().setHost(host);
    Supplier<HostLoad> sampler = load;
    if (sampler != null) {
      request.setLoad(sampler.get());
    }
    return request.build();
  }

  /** How many schedulers are configured, up or down. */
  public int schedulerCount() {
    return endpoints.size();
  }

  /**
   * Who hears of tasks that changed owner: it gets a test of task ids; running downloads of those
   * should move to the new owner, and finished ones be announced to it again (it does not know
   * this host has them).
   */
  public void onTasksMoved(Consumer<Predicate<String>> listener) {
    tasksMoved = listener;
  }

  /** Announces this host to every scheduler, up or down; returns how many took it. */
  public int announceHost() {
    int accepted = 0;
    for (Endpoint endpoint : endpoints) {
      if (announceTo(endpoint)) {
        accepted++;
      }
    }
    return accepted;
  }

  private boolean announceTo(Endpoint endpoint) {
    CompletableFuture<Boolean> mine = new CompletableFuture<>();
    CompletableFuture<Boolean> running = endpoint.announcing.compareAndExchange(null, mine);
    if (running != null) {
      return running.join();
    }
    try {
      boolean accepted = attemptAnnounce(endpoint);
      mine.complete(accepted);
      return accepted;
    } catch (RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      endpoint.announcing.set(null);
    }
  }

  private boolean attemptAnnounce(Endpoint endpoint) {
    boolean probe = !endpoint.up;
    SchedulerGrpc.SchedulerBlockingStub stub = SchedulerGrpc.newBlockingStub(endpoint.channel);
    if (!probe) {
      stub = stub.withDeadlineAfter(5, TimeUnit.SECONDS);
    } else {
      // A probe: this client's backoff decides when to try, not the channel's, and the call waits
      // for the new connection instead of failing at once on the last one's error.
      endpoint.channel.resetConnectBackoff();
      stub = stub.withWaitForReady().withDeadlineAfter(PROBE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    }
    boolean forgotten;
    try {
      forgotten = stub.announceHost(announceRequest()).getNewHost();
    } catch (RuntimeException e) {
      log.debug("scheduler {} did not take the host announcement: {}", endpoint.address, e.getMessage());
      markDown(endpoint, e.getMessage(), probe);
      return false;
    }
    markUp(endpoint, forgotten);
    return true;
  }

  /**
   * Opens the peer stream of a task on the scheduler that owns it among those up. When a stream
   * fails, its scheduler is probed before {@code responses} hears of it; an unreachable one is
   * marked down, so registering again goes to the task's next owner.
   *
   * @throws NoSchedulerException when every scheduler is down
   */
  public PeerStream announcePeer(String taskId, StreamObserver<AnnouncePeerResponse> responses) {
    Endpoint owner = liveOwnerOf(taskId)
        .orElseThrow(() -> new NoSchedulerException("no scheduler is reachable (" + endpoints.size()
            + " configured, all down)"));
    StreamObserver<AnnouncePeerRequest> requests = SchedulerGrpc.newStub(owner.channel).announcePeer(
        new StreamObserver<>() {
          @Override
          public void onNext(AnnouncePeerResponse response) {
            responses.onNext(response);
          }

          @Override
          public void onError(Throwable t) {
            streamFailed(owner, t);
            responses.onError(t);
          }

          @Override
          public void onCompleted() {
            responses.onCompleted();
          }
        });
    return new PeerStream(new GatheredReports(requests), owner.address.toString());
  }

  /**
   * A peer stream's requests with finished-piece reports gathered: the first report waits up to
   * the report window for others, and they go as one message; any other request sends the
   * gathered reports first, so the scheduler sees everything in the order it was sent.
   */
  private final class GatheredReports implements StreamObserver<AnnouncePeerRequest> {
    private final StreamObserver<AnnouncePeerRequest> requests;
    private AnnouncePeerRequest.Builder gathered; // guarded by this

    GatheredReports(StreamObserver<AnnouncePeerRequest> requests) {
      this.requests = requests;
    }

    @Override
    public synchronized void onNext(AnnouncePeerRequest request) {
      if (!request.hasPieceFinished()) {
        send();
        requests.onNext(request);
        return;
      }
      if (gathered == null) {
        gathered = AnnouncePeerRequest.newBuilder().setHostId(request.getHostId()).setTaskId(request.getTaskId())
            .setPeerId(request.getPeerId());
        try {
          reports.schedule(this::sendLater, reportWindowNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closing) {
          send();
        }
      }
      gathered.getPiecesFinishedBuilder().addPieces(request.getPieceFinished());
    }

    private synchronized void sendLater() {
      try {
        send();
      } catch (RuntimeException e) { // the stream broke meanwhile; its observer hears of it
        log.debug("piece reports to the scheduler failed: {}", e.getMessage());
      }
    }

    private void send() {
      if (gathered != null) {
        AnnouncePeerRequest batch = gathered.build();
        gathered = null;
        requests.onNext(batch);
      }
    }

    @Override
    public synchronized void onError(Throwable t) {
      gathered = null;
      requests.onError(t);
    }

    @Override
    public synchronized void onCompleted() {
      try {
        send();
      } finally {
        requests.onCompleted();
      }
    }
  }

  /** Thrown when no scheduler is up to take a task. */
  public static final class NoSchedulerException extends RuntimeException {
    NoSchedulerException(String message) {
      super(message);
    }
  }

  /**
   * The scheduler that owns a task among {@code schedulers}: the highest sha256 over address and
   * task id. Any host computing it over the same set of schedulers gets the same one.
   */
  public static HostPort ownerOf(Collection<HostPort> schedulers, String taskId) {
    return schedulers.stream()
        .max(Comparator.comparing(address -> rank(address, taskId)))
        .orElseThrow();
  }

  private static String rank(HostPort address, String taskId) {
    return Digests.sha256Hex((address + "/" + taskId).getBytes(StandardCharsets.UTF_8));
  }

  /** The address of the scheduler that owns a task among those up; empty when none is up. */
  public Optional<String> ownerAddress(String taskId) {
    return liveOwnerOf(taskId).map(endpoint -> endpoint.address.toString());
  }

  private Optional<Endpoint> liveOwnerOf(String taskId) {
    return ownerAmong(endpoints.stream().filter(e -> e.up).toList(), taskId);
  }

  private static Optional<Endpoint> ownerAmong(List<Endpoint> candidates, String taskId) {
    return candidates.stream().max(Comparator.comparing(e -> rank(e.address, taskId)));
  }

  /**
   * A peer stream broke: ask the scheduler directly whether it is there. An announce answers
   * that whatever the stream's status said (a killed scheduler shows as UNAVAILABLE, one shutting
   * down as CANCELLED), and it re-announces the host to a scheduler that restarted and forgot it.
   */
  private void streamFailed(Endpoint endpoint, Throwable error) {
    log.debug("peer stream on scheduler {} broke: {}", endpoint.address, error.getMessage());
    if (endpoint.up) {
      announceTo(endpoint);
    }
  }

  private void markUp(Endpoint endpoint, boolean forgotten) {
    boolean cameBack;
    synchronized (this) {
      cameBack = !endpoint.up;
      if (cameBack && settling(endpoint)) {
        return;
      }
      endpoint.up = true;
      endpoint.retryMillis = 0;
      endpoint.answeringSinceNanos = 0;
      if (endpoint.probe != null) {
        endpoint.probe.cancel(false);
        endpoint.probe = null;
      }
    }
    if (cameBack) {
      log.info("scheduler {} is up again; its tasks move back to it", endpoint.address);
    }
    if (cameBack || forgotten) {
      // Tasks it owns now: moved back to it, or known to it no more.
      notifyMoved(taskId -> liveOwnerOf(taskId).orElse(null) == endpoint);
    }
  }

  /**
   * True while a scheduler that was down, and answers again, still settles: other hosts have not
   * all announced to it yet. A probe at the end of the settling time takes it up. With no other
   * scheduler up there is nothing to wait for.
   */
  private boolean settling(Endpoint endpoint) {
    long now = System.nanoTime();
    if (settleNanos <= 0 || endpoints.stream().noneMatch(e -> e.up)) {
      return false;
    }
    if (endpoint.answeringSinceNanos == 0) {
      endpoint.answeringSinceNanos = now;
      log.info("scheduler {} answers again; its tasks move back to it in {} ms", endpoint.address,
          TimeUnit.NANOSECONDS.toMillis(settleNanos));
    } else if (now - endpoint.answeringSinceNanos >= settleNanos) {
      return false;
    }
    if (endpoint.probe != null) {
      endpoint.probe.cancel(false);
    }
    long left = settleNanos - (now - endpoint.answeringSinceNanos);
    endpoint.probe = probeLater(endpoint, TimeUnit.NANOSECONDS.toMillis(left) + 1);
    return true;
  }

  /** {@code probeFailed}: the failed call was itself an attempt on a scheduler already down. */
  private void markDown(Endpoint endpoint, String reason, boolean probeFailed) {
    if (closed) {
      return;
    }
    List<Endpoint> before;
    synchronized (this) {
      before = endpoints.stream().filter(e -> e.up).toList();
      boolean wasUp = endpoint.up;
      endpoint.up = false;
      endpoint.answeringSinceNanos = 0;
      if (wasUp || probeFailed || endpoint.probe == null) {
        endpoint.retryMillis = wasUp || endpoint.retryMillis == 0 ? FIRST_RETRY_MILLIS
            : Math.min(MAX_RETRY_MILLIS, endpoint.retryMillis * 2);
        if (endpoint.probe != null) {
          endpoint.probe.cancel(false);
        }
        endpoint.probe = probeLater(endpoint, endpoint.retryMillis);
      }
      if (!wasUp) {
        return;
      }
    }
    if (endpoints.stream().noneMatch(e -> e.up)) {
      log.warn("scheduler {} is down ({}), and no other is up", endpoint.address, reason);
      return; // nobody to announce the moved tasks to; they go to whichever comes up first
    }
    log.warn("scheduler {} is down ({}); its tasks move to the other schedulers", endpoint.address, reason);
    notifyMoved(taskId -> ownerAmong(before, taskId).orElse(null) == endpoint);
  }

  private void notifyMoved(Predicate<String> moved) {
    try {
      tasksMoved.accept(moved);
    } catch (RuntimeException e) {
      log.warn("announcing moved tasks failed", e);
    }
  }

  /**
   * A connection that drops while no stream is open tells of a dead scheduler as well: probe it
   * at once, so the tasks it owned move before a peer needs them.
   */
  private void watchConnection(Endpoint endpoint, ConnectivityState seen) {
    if (seen == ConnectivityState.SHUTDOWN) {
      return;
    }
    endpoint.channel.notifyWhenStateChanged(seen, () -> {
      ConnectivityState now = endpoint.channel.getState(false);
      if (seen == ConnectivityState.READY && now != ConnectivityState.READY) {
        probeLater(endpoint, 0);
      }
      watchConnection(endpoint, now);
    });
  }

  private ScheduledFuture<?> probeLater(Endpoint endpoint, long delayMillis) {
    if (closed) {
      return null;
    }
    try {
      return prober.schedule(() -> announceTo(endpoint), delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closing) {
      return null;
    }
  }

  @Override
  public void close() {
    closed = true;
    prober.shutdownNow();
    reports.shutdownNow();
    for (Endpoint endpoint : endpoints) {
      if (endpoint.up) {
        try {
          SchedulerGrpc.newBlockingStub(endpoint.channel)
              .withDeadlineAfter(2, TimeUnit.SECONDS)
              .leaveHost(LeaveHostRequest.newBuilder().setHostId(host.getId()).build());
        } catch (RuntimeException e) {
          log.debug("scheduler {} did not take the leave: {}", endpoint.address, e.getMessage());
        }
      }
      endpoint.channel.shutdownNow();
    }
  }
}
