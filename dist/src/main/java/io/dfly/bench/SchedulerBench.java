package io.dfly.bench;

import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.TriggerDownloadRequest;
import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnounceHostResponse;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.PiecesFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.Digests;
import io.dfly.common.net.HostPort;
import io.dfly.common.task.TaskId;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Load on one running scheduler over real gRPC, from simulated hosts: every host announces
 * itself, then peers of many tasks register, report their pieces and finish, as dfdaemons do.
 * Seed hosts are simulated too: the scheduler triggers them over gRPC (this process serves the
 * dfdaemon's TriggerDownload), and the triggered seed peer registers, is sent back to source
 * and reports every piece. A decision's latency is the time from a peer's registration to the
 * scheduler's first answer to it (parents, back-to-source or a failure). Decisions are counted
 * as peers see them: first answers, and later answers that send a changed set of parents,
 * each printed on its own. Beside them, a transport baseline over the same connections and
 * concurrency: peer streams whose registration the scheduler refuses at once (an unknown host),
 * so a round trip of the same shape with no scheduling in it.
 */
@Command(name = "bench-scheduler", mixinStandardHelpOptions = true,
    description = "Load benchmark of a running scheduler over gRPC: simulated hosts and peers; prints "
        + "announces/s, registrations/s, decisions/s and decision latency percentiles.")
public final class SchedulerBench implements Callable<Integer> {
  private static final long PIECE_LENGTH = 4 << 20;
  private static final Download BASELINE_DOWNLOAD = Download.newBuilder().setUrl("http://bench.invalid/baseline").build();

  @Option(names = "--scheduler", required = true, paramLabel = "HOST:PORT", description = "the scheduler under load")
  String scheduler;

  @Option(names = "--hosts", description = "simulated hosts (default ${DEFAULT-VALUE})")
  int hosts = 2000;

  @Option(names = "--seed-hosts", description = "of the hosts, how many are seed peers (default ${DEFAULT-VALUE})")
  int seedHosts = 4;

  @Option(names = "--tasks", description = "tasks (default ${DEFAULT-VALUE})")
  int tasks = 200;

  @Option(names = "--peers-per-task", description = "peers of each task, each on its own host (default ${DEFAULT-VALUE})")
  int peersPerTask = 50;

  @Option(names = "--pieces", description = "pieces per task, each reported by every peer (default ${DEFAULT-VALUE})")
  int pieces = 16;

  @Option(names = "--pieces-per-report", description = "finished pieces per report message, as the dfdaemon"
      + " gathers them (1: a message per piece) (default ${DEFAULT-VALUE})")
  int piecesPerReport = 4;

  @Option(names = "--baseline-streams", description = "refused registrations of the transport baseline; 0: none"
      + " (default ${DEFAULT-VALUE})")
  int baselineStreams = 10_000;

  @Option(names = "--concurrency", description = "peers registered and not yet finished, at most (default ${DEFAULT-VALUE})")
  int concurrency = 64;

  @Option(names = "--rate", description = "registrations started per second; 0 = as fast as --concurrency allows (default ${DEFAULT-VALUE})")
  double rate = 0;

  @Option(names = "--channels", description = "gRPC connections to the scheduler (default ${DEFAULT-VALUE})")
  int channels = 4;

  @Option(names = "--warmup-peers-per-task", description = "peers per task of a first, unmeasured round on other tasks,"
      + " so that the scheduler's code is compiled (default ${DEFAULT-VALUE})")
  int warmupPeersPerTask = 10;

  @Option(names = "--scheduler-pid", description = "the scheduler's process id, to report its CPU time")
  long schedulerPid;

  @Option(names = "--scheduler-metrics", paramLabel = "URL",
      description = "the scheduler's Prometheus endpoint, to report its own decisions in the measured round")
  String metricsUrl;

  @Option(names = "--timeout", description = "seconds to wait for the peers to finish (default ${DEFAULT-VALUE})")
  long timeoutSeconds = 300;

  private final PrintStream out = System.out;
  private final AtomicInteger answers = new AtomicInteger();
  private final AtomicInteger laterAnswers = new AtomicInteger();
  private final AtomicLong reportMessages = new AtomicLong();
  private final AtomicInteger parentsAnswers = new AtomicInteger();
  private final AtomicInteger backToSourceAnswers = new AtomicInteger();
  private final AtomicInteger otherAnswers = new AtomicInteger();
  private final AtomicInteger streamErrors = new AtomicInteger();
  private final AtomicReference<String> firstError = new AtomicReference<>();
  private final AtomicInteger seedsTriggered = new AtomicInteger();
  private final AtomicLong pieceReports = new AtomicLong();
  private final ConcurrentHashMap<String, Boolean> seedsStarted = new ConcurrentHashMap<>();
  private List<ManagedChannel> schedulerChannels;
  private List<Host> hostList;
  private List<Host> seeds;
  private List<Download> downloads;
  private double lastRoundSeconds;

  @Override
  public Integer call() throws Exception {
    if (hosts < 1 || seedHosts < 0 || seedHosts >= hosts || tasks < 1 || pieces < 1 || concurrency < 1
        || channels < 1 || piecesPerReport < 1 || peersPerTask < 1 || peersPerTask > hosts - seedHosts) {
      throw new IllegalArgumentException("need 1 <= peers-per-task <= hosts - seed-hosts, and positive counts");
    }
    HostPort address = HostPort.parse(scheduler);
    // Direct executors here: the generator shares the cores with the scheduler, so it spends as
    // little as it can on thread hand-offs.
    Server triggers = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .directExecutor()
        .addService(new SeedTriggers())
        .build()
        .start();
    schedulerChannels = new ArrayList<>();
    for (int i = 0; i < channels; i++) {
      schedulerChannels.add(ManagedChannelBuilder.forAddress(address.host(), address.port()).usePlaintext()
          .directExecutor().build());
    }
    try {
      hostList = simulatedHosts(triggers.getPort());
      seeds = hostList.subList(0, seedHosts);
      out.printf(Locale.ROOT, "scheduler load: %d hosts (%d seed), %d tasks x %d peers = %d peers, %d pieces each"
              + " (%d per report message), concurrency %d, %s, %d connections, scheduler %s%n", hosts, seedHosts, tasks,
          peersPerTask, tasks * peersPerTask, pieces, piecesPerReport, concurrency,
          rate > 0 ? String.format(Locale.ROOT, "rate %.0f/s", rate) : "no rate limit", channels, scheduler);
      Duration cpuBefore = schedulerCpu();
      announceHosts();
      if (warmupPeersPerTask > 0) {
        newTasks("warmup");
        runPeers(warmupPeersPerTask, null, false);
        out.printf("warm-up: %d peers on %d other tasks, not counted%n", warmupPeersPerTask * tasks, tasks);
        resetCounters();
      }
      if (baselineStreams > 0) {
        transportBaseline();
      }
      newTasks("measured");
      SchedulerDecisions decisionsBefore = schedulerDecisions();
      runPeers(peersPerTask, schedulerCpu(), true);
      SchedulerDecisions decisionsAfter = schedulerDecisions();
      if (decisionsBefore != null && decisionsAfter != null) {
        long count = decisionsAfter.count() - decisionsBefore.count();
        out.printf(Locale.ROOT, "scheduler-side decisions in the measured round: %d = %.0f/s (%s); time inside a"
                + " decision: mean %.3f ms, max %.2f ms (the scheduler's recent maximum)%n", count,
            count / lastRoundSeconds, decisionsAfter.minus(decisionsBefore),
            (decisionsAfter.seconds() - decisionsBefore.seconds()) / count * 1e3, decisionsAfter.maxSeconds() * 1e3);
      }
      if (cpuBefore != null) {
        out.printf(Locale.ROOT, "scheduler CPU, whole run: %.2f s%n", (schedulerCpu().toNanos() - cpuBefore.toNanos()) / 1e9);
      }
      return streamErrors.get() == 0 ? 0 : 1;
    } finally {
      schedulerChannels.forEach(ManagedChannel::shutdownNow);
      triggers.shutdownNow();
    }
  }

  private List<Host> simulatedHosts(int triggerPort) {
    List<Host> list = new ArrayList<>();
    for (int i = 0; i < hosts; i++) {
      boolean seed = i < seedHosts;
      list.add(Host.newBuilder()
          .setId("bench-host-" + i)
          .setHostname("bench-host-" + i)
          // Seed hosts are reached for triggers at this process; the others are never dialled.
          .setIp(seed ? "127.0.0.1" : "10.%d.%d.%d".formatted(i >> 16 & 255, i >> 8 & 255, i & 255))
          .setGrpcPort(seed ? triggerPort : 65000)
          .setUploadPort(65002)
          .setType(seed ? HostType.HOST_TYPE_SEED : HostType.HOST_TYPE_NORMAL)
          .setIdc("idc-" + i % 4)
          .setLocation("cn|east|zone-" + i % 8)
          .setUploadLimit(200)
          .build());
    }
    return list;
  }

  // ---- phase 1: hosts ----------------------------------------------------------------------

  private void announceHosts() throws InterruptedException {
    long[] latencies = new long[hosts];
    CountDownLatch done = new CountDownLatch(hosts);
    Semaphore inflight = new Semaphore(concurrency);
    AtomicInteger failures = new AtomicInteger();
    long start = System.nanoTime();
    for (int i = 0; i < hosts; i++) {
      inflight.acquire();
      int index = i;
      long sent = System.nanoTime();
      SchedulerGrpc.newStub(channel(i)).withDeadlineAfter(30, TimeUnit.SECONDS)
          .announceHost(AnnounceHostRequest.newBuilder().setHost(hostList.get(i)).build(), new StreamObserver<>() {
            @Override
            public void onNext(AnnounceHostResponse value) {
              latencies[index] = System.nanoTime() - sent;
            }

            @Override
            public void onError(Throwable t) {
              failures.incrementAndGet();
              latencies[index] = System.nanoTime() - sent;
              inflight.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              inflight.release();
              done.countDown();
            }
          });
    }
    done.await();
    double seconds = (System.nanoTime() - start) / 1e9;
    out.printf(Locale.ROOT, "host announces: %d in %.2f s = %.0f/s, %d failed; latency %s%n", hosts, seconds,
        hosts / seconds, failures.get(), percentiles(latencies));
    if (failures.get() > 0) {
      throw new Commands.UserError(1, failures.get() + " host announcements failed; is a scheduler listening on "
          + scheduler + "?");
    }
  }

  /**
   * The transport's bound: peer streams opened, each sending one registration from a host the
   * scheduler does not know, which it refuses at once, over the same connections and with the
   * same concurrency (and rate) as the peers. Twice: the first round warms the code up.
   */
  private void transportBaseline() throws InterruptedException {
    for (int round = 0; round < 2; round++) {
      long[] latencies = new long[baselineStreams];
      CountDownLatch done = new CountDownLatch(baselineStreams);
      Semaphore inflight = new Semaphore(concurrency);
      Duration cpuBefore = schedulerCpu();
      Duration ownCpuBefore = ownCpu();
      long start = System.nanoTime();
      for (int i = 0; i < baselineStreams; i++) {
        if (rate > 0) {
          long wait = start + (long) (i * 1e9 / rate) - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
        }
        inflight.acquire();
        int index = i;
        long sent = System.nanoTime();
        StreamObserver<AnnouncePeerRequest> requests = SchedulerGrpc.newStub(channel(i)).announcePeer(
            new StreamObserver<>() {
              @Override
              public void onNext(AnnouncePeerResponse value) {}

              @Override
              public void onError(Throwable t) {
                latencies[index] = System.nanoTime() - sent;
                inflight.release();
                done.countDown();
              }

              @Override
              public void onCompleted() {
                onError(null);
              }
            });
        requests.onNext(AnnouncePeerRequest.newBuilder().setHostId("bench-unknown-host").setTaskId("baseline")
            .setPeerId("baseline-" + i).setRegister(RegisterPeer.newBuilder().setDownload(BASELINE_DOWNLOAD)).build());
      }
      if (!done.await(timeoutSeconds, TimeUnit.SECONDS)) {
        out.printf("transport baseline: %d streams unanswered%n", done.getCount());
        return;
      }
      if (round == 0) {
        continue;
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double ownCpu = (ownCpu().toNanos() - ownCpuBefore.toNanos()) / 1e9;
      Duration cpuAfter = schedulerCpu();
      out.printf(Locale.ROOT, "transport baseline (a registration refused at once, same connections and"
              + " concurrency): %.0f/s; latency %s; scheduler %s, generator %.2f cores%n", baselineStreams / seconds,
          percentiles(latencies), cpuBefore == null || cpuAfter == null ? "CPU unknown"
              : String.format(Locale.ROOT, "%.2f cores", (cpuAfter.toNanos() - cpuBefore.toNanos()) / 1e9 / seconds),
          ownCpu / seconds);
    }
  }

  // ---- phase 2: peers ----------------------------------------------------------------------

  private void newTasks(String round) {
    downloads = new ArrayList<>();
    for (int t = 0; t < tasks; t++) {
      downloads.add(Download.newBuilder().setUrl("http://bench.invalid/" + round + "/" + System.nanoTime() + "/task-" + t)
          .build());
    }
    seedsStarted.clear();
  }

  private void resetCounters() {
    for (AtomicInteger counter : List.of(answers, laterAnswers, parentsAnswers, backToSourceAnswers, otherAnswers, streamErrors,
        seedsTriggered)) {
      counter.set(0);
    }
    pieceReports.set(0);
    reportMessages.set(0);
    firstError.set(null);
  }

  private void runPeers(int perTask, Duration cpuBefore, boolean report) throws InterruptedException {
    int total = tasks * perTask;
    AtomicLongArray latencies = new AtomicLongArray(total);
    CountDownLatch done = new CountDownLatch(total);
    Semaphore inflight = new Semaphore(concurrency);
    int normalHosts = hosts - seedHosts;
    Duration ownCpuBefore = ownCpu();
    double[] machineBefore = machineCpu();
    long start = System.nanoTime();
    int k = 0;
    // Round-robin over tasks, so that every task's swarm grows at once, as in a fleet rollout.
    for (int j = 0; j < perTask; j++) {
      for (int t = 0; t < tasks; t++, k++) {
        if (rate > 0) {
          long due = start + (long) (k * 1e9 / rate);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
        }
        inflight.acquire();
        Host host = hostList.get(seedHosts + (t * perTask + j) % normalHosts);
        int index = k;
        new SimulatedPeer(t, host, host.getId() + "-" + t, channel(k), latency -> latencies.set(index, latency), () -> {
          inflight.release();
          done.countDown();
        }).start();
      }
    }
    if (!done.await(timeoutSeconds, TimeUnit.SECONDS)) {
      out.printf("%d peers did not finish within %d s%n", done.getCount(), timeoutSeconds);
    }
    if (!report) {
      return;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    lastRoundSeconds = seconds;
    long[] registered = new long[total];
    int answered = 0;
    for (int i = 0; i < total; i++) {
      long latency = latencies.get(i);
      if (latency > 0) {
        registered[answered++] = latency;
      }
    }
    registered = Arrays.copyOf(registered, answered);
    // Peers started in the first round of the round-robin are the first of their tasks: their
    // registration triggers the task's seed peer.
    long[] firstOfTask = new long[Math.min(tasks, total)];
    long[] later = new long[total - firstOfTask.length];
    int f = 0;
    int l = 0;
    for (int i = 0; i < total; i++) {
      long latency = latencies.get(i);
      if (latency > 0 && i < firstOfTask.length) {
        firstOfTask[f++] = latency;
      } else if (latency > 0) {
        later[l++] = latency;
      }
    }
    out.printf(Locale.ROOT, "peer registrations: %d answered of %d in %.2f s = %.0f/s (first answers: %d parents,"
            + " %d back-to-source, %d other; %d stream errors)%n", answered, total, seconds, answered / seconds,
        parentsAnswers.get(), backToSourceAnswers.get(), otherAnswers.get(), streamErrors.get());
    if (firstError.get() != null) {
      out.printf("first stream error: %s%n", firstError.get());
    }
    out.printf(Locale.ROOT, "seed peers: %d triggered by the scheduler%n", seedsTriggered.get());
    out.printf(Locale.ROOT, "piece reports: %d = %.0f/s in %d messages; peers finished: %d%n", pieceReports.get(),
        pieceReports.get() / seconds, reportMessages.get(), total - done.getCount());
    int first = answers.get() - laterAnswers.get();
    out.printf(Locale.ROOT, "decisions peers received: %d = %.0f/s: first answers %d = %.0f/s, later answers"
            + " (a changed parent set) %d = %.0f/s%n", answers.get(), answers.get() / seconds, first, first / seconds,
        laterAnswers.get(), laterAnswers.get() / seconds);
    out.printf(Locale.ROOT, "decision latency, registration -> first answer: %s%n", percentiles(registered));
    out.printf(Locale.ROOT, "  first peer of each task (triggers the seed peer, %d peers): %s%n", f,
        percentiles(Arrays.copyOf(firstOfTask, f)));
    out.printf(Locale.ROOT, "  every other peer (%d): %s%n", l, percentiles(Arrays.copyOf(later, l)));
    Duration cpuAfter = schedulerCpu();
    if (cpuBefore != null && cpuAfter != null) {
      double cpu = (cpuAfter.toNanos() - cpuBefore.toNanos()) / 1e9;
      out.printf(Locale.ROOT, "scheduler CPU in this phase: %.2f s over %.2f s wall = %.2f cores;"
          + " %.0f answers per CPU-second%n", cpu, seconds, cpu / seconds, answers.get() / cpu);
    }
    double ownCpu = (ownCpu().toNanos() - ownCpuBefore.toNanos()) / 1e9;
    out.printf(Locale.ROOT, "load generator CPU in this phase: %.2f s = %.2f cores%n", ownCpu, ownCpu / seconds);
    double[] machineAfter = machineCpu();
    if (machineBefore != null && machineAfter != null) {
      double busy = machineAfter[0] - machineBefore[0];
      double all = machineAfter[1] - machineBefore[1];
      out.printf(Locale.ROOT, "whole machine in this phase: %.2f of %d cores busy%n", busy / all
          * Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().availableProcessors());
    }
  }

  /** Busy and total jiffies of all CPUs from /proc/stat, or null where there is none. */
  private static double[] machineCpu() {
    try {
      String[] fields = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).getFirst().trim()
          .split("\\s+");
      double total = 0;
      for (int i = 1; i < fields.length && i <= 8; i++) {
        total += Double.parseDouble(fields[i]);
      }
      double idle = Double.parseDouble(fields[4]) + Double.parseDouble(fields[5]);
      return new double[] {total - idle, total};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static Duration ownCpu() {
    return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
  }

  private ManagedChannel channel(int i) {
    return schedulerChannels.get(i % schedulerChannels.size());
  }

  /**
   * One peer of a task on one host: registers, and on the scheduler's first answer reports every
   * piece (from its first parent, or from the origin when sent back to source) and finishes.
   */
  private final class SimulatedPeer implements StreamObserver<AnnouncePeerResponse> {
    private final Download download;
    private final String taskId;
    private final Host host;
    private final String peerId;
    private final ManagedChannel channel;
    private final LongConsumer firstAnswer;
    private final Runnable finished;
    private final boolean seed;
    private StreamObserver<AnnouncePeerRequest> requests;
    private long sentAt;
    private boolean answered; // guarded by this
    private boolean ended; // guarded by this

    SimulatedPeer(int task, Host host, String peerId, ManagedChannel channel, LongConsumer firstAnswer,
        Runnable finished) {
      this.download = downloads.get(task);
      this.taskId = TaskId.of(download);
      this.host = host;
      this.peerId = peerId;
      this.channel = channel;
      this.firstAnswer = firstAnswer;
      this.finished = finished;
      this.seed = host.getType() == HostType.HOST_TYPE_SEED;
    }

    /** Requests go out under this peer's lock: the answer can arrive while the registration is still being sent. */
    synchronized void start() {
      requests = SchedulerGrpc.newStub(channel).announcePeer(this);
      sentAt = System.nanoTime();
      requests.onNext(request().setRegister(RegisterPeer.newBuilder().setDownload(download)).build());
    }

    private AnnouncePeerRequest.Builder request() {
      return AnnouncePeerRequest.newBuilder().setHostId(host.getId()).setTaskId(taskId).setPeerId(peerId);
    }

    @Override
    public void onNext(AnnouncePeerResponse response) {
      answers.incrementAndGet();
      synchronized (this) {
        if (answered) {
          laterAnswers.incrementAndGet();
          return;
        }
        answered = true;
      }
      firstAnswer.accept(System.nanoTime() - sentAt);
      report(response);
    }

    private synchronized void report(AnnouncePeerResponse response) {
      String parent = "";
      if (seed) {
        seedsTriggered.incrementAndGet();
      }
      switch (response.getResponseCase()) {
        case NORMAL_TASK -> {
          (seed ? otherAnswers : parentsAnswers).incrementAndGet();
          if (response.getNormalTask().getCandidateParentsCount() > 0) {
            parent = response.getNormalTask().getCandidateParents(0).getPeerId();
          }
        }
        case NEED_BACK_TO_SOURCE -> {
          if (!seed) {
            backToSourceAnswers.incrementAndGet();
          }
        }
        default -> {
          otherAnswers.incrementAndGet();
          finish();
          return;
        }
      }
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int n = 0; n < pieces; n += piecesPerReport) {
        PiecesFinished.Builder batch = PiecesFinished.newBuilder();
        for (int m = n; m < Math.min(pieces, n + piecesPerReport); m++) {
          batch.addPieces(PieceFinished.newBuilder()
              .setPiece(Piece.newBuilder().setNumber(m).setOffset(m * PIECE_LENGTH).setLength(PIECE_LENGTH)
                  .setDigest("%08x".formatted(m)))
              .setParentId(parent)
              .setCostNanos(random.nextLong(4_000_000, 6_000_000)));
        }
        // One report alone goes as the dfdaemon sent them before it gathered them.
        requests.onNext(batch.getPiecesCount() == 1 ? request().setPieceFinished(batch.getPieces(0)).build()
            : request().setPiecesFinished(batch).build());
        pieceReports.addAndGet(batch.getPiecesCount());
        reportMessages.incrementAndGet();
      }
      requests.onNext(request().setPeerFinished(PeerFinished.newBuilder()
          .setContentLength(pieces * PIECE_LENGTH).setPieceCount(pieces)).build());
      requests.onCompleted();
      finish();
    }

    @Override
    public void onError(Throwable t) {
      streamErrors.incrementAndGet();
      firstError.compareAndSet(null, (seed ? "seed peer: " : "peer: ") + t.getMessage());
      finish();
    }

    @Override
    public void onCompleted() {
      finish();
    }

    private void finish() {
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
      }
      finished.run();
    }
  }

  /** The dfdaemon side of seed triggers: the triggered seed peer registers with the scheduler. */
  private final class SeedTriggers extends DfdaemonPeerGrpc.DfdaemonPeerImplBase {
    @Override
    public void triggerDownload(TriggerDownloadRequest request, StreamObserver<Empty> responses) {
      responses.onNext(Empty.getDefaultInstance());
      responses.onCompleted();
      if (seedsStarted.putIfAbsent(request.getTaskId(), true) == null) {
        int task = downloads.indexOf(request.getDownload());
        // The seed host the scheduler picked, by the same rendezvous hashing over seed hosts.
        Host seed = seeds.stream().max(Comparator.comparing(h -> Digests.sha256Hex(
            (h.getId() + "/" + request.getTaskId()).getBytes(StandardCharsets.UTF_8)))).orElseThrow();
        // Under the id the scheduler chose (it offers the seed peer under it already), if it chose one.
        String peerId = request.getPeerId().isEmpty() ? seed.getId() + "-" + task : request.getPeerId();
        // Outside the trigger call's context, which is cancelled once the trigger is answered.
        Context.ROOT.run(() -> new SimulatedPeer(task, seed, peerId, channel(task), latency -> { }, () -> { }).start());
      }
    }
  }

  /** p50, p90, p99 and max of nanosecond latencies, in milliseconds. */
  static String percentiles(long[] nanos) {
    if (nanos.length == 0) {
      return "none";
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return String.format(Locale.ROOT, "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", at(sorted, 0.50) / 1e6,
        at(sorted, 0.90) / 1e6, at(sorted, 0.99) / 1e6, sorted[sorted.length - 1] / 1e6);
  }

  private static long at(long[] sorted, double quantile) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)];
  }

  /** The scheduler's decision counters from its metrics: count by outcome and seconds spent deciding. */
  record SchedulerDecisions(Map<String, Long> byOutcome, double seconds, double maxSeconds) {
    long count() {
      return byOutcome.values().stream().mapToLong(Long::longValue).sum();
    }

    String minus(SchedulerDecisions before) {
      StringBuilder text = new StringBuilder();
      new TreeMap<>(byOutcome).forEach((outcome, n) -> text.append(text.isEmpty() ? "" : ", ")
          .append(outcome).append(' ').append(n - before.byOutcome.getOrDefault(outcome, 0L)));
      return text.toString();
    }
  }

  private SchedulerDecisions schedulerDecisions() {
    if (metricsUrl == null) {
      return null;
    }
    try (HttpClient http = HttpClient.newHttpClient()) {
      String body = http.send(HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      Map<String, Long> byOutcome = new HashMap<>();
      double seconds = 0;
      double max = 0;
      for (String line : body.split("\n")) {
        String[] parts = line.split(" ");
        if (line.startsWith("dfly_scheduler_decisions_total{")) {
          String outcome = line.replaceAll(".*outcome=\"([^\"]*)\".*", "$1");
          byOutcome.put(outcome, (long) Double.parseDouble(parts[parts.length - 1]));
        } else if (line.startsWith("dfly_scheduler_decision_latency_seconds_sum")) {
          seconds = Double.parseDouble(parts[parts.length - 1]);
        } else if (line.startsWith("dfly_scheduler_decision_latency_seconds_max")) {
          max = Double.parseDouble(parts[parts.length - 1]);
        }
      }
      return new SchedulerDecisions(byOutcome, seconds, max);
    } catch (IOException | InterruptedException | RuntimeException e) {
      out.printf("scheduler metrics at %s unreadable: %s%n", metricsUrl, e);
      return null;
    }
  }

  private Duration schedulerCpu() {
    if (schedulerPid <= 0) {
      return null;
    }
    return ProcessHandle.of(schedulerPid).flatMap(p -> p.info().totalCpuDuration()).orElse(null);
  }
}
