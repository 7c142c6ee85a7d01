package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.CandidateParent;
import io.dfly.api.scheduler.v1.NormalTask;
import io.dfly.common.auth.ClusterToken;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.piece.PieceMath;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.rpc.PeerService;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.daemon.rpc.StandInScheduler;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.daemon.upload.SeedHandout;
import io.dfly.daemon.upload.UploadServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Peers of a task in this JVM, for tests of the piece engine over real gRPC and HTTP on loopback:
 * downloading hosts (real {@link TaskManager}s, each with its own piece store), parents that hold
 * a whole task (a real {@link PeerService} for the piece list and a real {@link UploadServer} for
 * the bytes), and one {@link StandInScheduler}, a test double that hands out only the parents the
 * test names and records what the peers report.
 */
final class PeerHarness implements AutoCloseable {
  private static final ClusterToken NO_TOKEN = ClusterToken.of(null, null);

  private final Path dir;
  private final BlockingQueue<AnnouncePeerRequest> received = new LinkedBlockingQueue<>();
  /** What the scheduler received, in order, as far as {@link #awaitRequest} has looked. */
  private final List<AnnouncePeerRequest> seen = new ArrayList<>();
  private final StandInScheduler scheduler;
  private final SchedulerClient schedulerClient;
  private final PeerChannels peerChannels = new PeerChannels(NO_TOKEN);
  /** Closed last first, after the scheduler client, whose end ends the downloads still running. */
  private final Deque<AutoCloseable> opened = new ArrayDeque<>();

  PeerHarness(Path dir) throws IOException {
    this.dir = dir;
    scheduler = new StandInScheduler(0, received);
    opened.push(scheduler);
    opened.push(peerChannels);
    schedulerClient = new SchedulerClient(List.of(scheduler.address()), host("scheduler-client", 0, 0),
        Duration.ZERO, NO_TOKEN);
  }

  private static Host host(String id, int grpcPort, int uploadPort) {
    return Host.newBuilder().setId(id).setIp("127.0.0.1").setGrpcPort(grpcPort).setUploadPort(uploadPort).build();
  }

  /** A download that never goes to its origin: only parents can serve it. */
  static Download download(String name) {
    return Download.newBuilder().setUrl("http://127.0.0.1:1/" + name).setDisableBackToSource(true).build();
  }

  /** A host that downloads into its own store, with the download rate its config gives. */
  TaskManager downloader(String hostId, DaemonConfig config) throws IOException {
    return new TaskManager(config, host(hostId, 0, 0), store(hostId), schedulerClient, peerChannels);
  }

  /** A host that downloads into its own store, sharing {@code downloadRate} among its tasks. */
  TaskManager downloader(String hostId, DaemonConfig config, RateLimiter downloadRate) throws IOException {
    return new TaskManager(config, host(hostId, 0, 0), store(hostId), schedulerClient, peerChannels, downloadRate);
  }

  private PieceStore store(String hostId) throws IOException {
    PieceStore store = new PieceStore(dir.resolve(hostId));
    opened.push(store);
    return store;
  }

  /**
   * A host that holds all of {@code content} as task {@code taskId}, cut in pieces of {@code pieceLength};
   * returns it as the scheduler hands it out.
   */
  Host parent(String hostId, String taskId, byte[] content, long pieceLength) throws Exception {
    PieceStore pieces = store(hostId);
    fill(pieces.open(taskId), content, pieceLength);
    TaskManager tasks = new TaskManager(new DaemonConfig(), host(hostId, 0, 0), pieces, schedulerClient, peerChannels);
    return serve(hostId, tasks, null);
  }

  /** A seed host, empty at first: its downloads go through {@code tasks}, its pieces to children as a seed peer's. */
  record Seed(Host host, TaskManager tasks) {}

  Seed seed(String hostId) throws Exception {
    TaskManager tasks = new TaskManager(new DaemonConfig(), host(hostId, 0, 0), store(hostId), schedulerClient,
        peerChannels);
    return new Seed(serve(hostId, tasks, new SeedHandout()), tasks);
  }

  /** Puts all of {@code content} into {@code task}, cut in pieces of {@code pieceLength}, and completes it. */
  static void fill(TaskStore task, byte[] content, long pieceLength) throws IOException {
    task.setLayout(content.length, pieceLength);
    for (int n = 0; n < PieceMath.pieceCount(content.length, pieceLength); n++) {
      long offset = PieceMath.offset(n, pieceLength);
      int length = (int) PieceMath.length(n, pieceLength, content.length);
      task.markFinished(task.readPiece(Channels.newChannel(new ByteArrayInputStream(content, (int) offset, length)),
          n, offset, length, true));
    }
    task.markComplete();
  }

  /** Serves the store of {@code tasks}: piece lists over gRPC (a seed peer's with {@code handouts}), bytes over HTTP. */
  private Host serve(String hostId, TaskManager tasks, SeedHandout handouts) throws Exception {
    Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new PeerService(tasks, handouts))
        .build()
        .start();
    opened.push(grpc::shutdownNow);
    UploadServer upload = new UploadServer("127.0.0.1", 0, tasks.pieceStore(), new RateLimiter(0), 200,
        handouts == null ? UploadServer.UploadListener.NONE : handouts::uploaded, NO_TOKEN);
    opened.push(upload);
    return host(hostId, grpc.getPort(), upload.port());
  }

  static CandidateParent candidate(String peerId, Host host) {
    return CandidateParent.newBuilder().setPeerId(peerId).setHost(host).build();
  }

  /** Has the scheduler hand out {@code parents}, the full set, on every peer stream open. */
  void offer(CandidateParent... parents) {
    scheduler.answer(AnnouncePeerResponse.newBuilder()
        .setNormalTask(NormalTask.newBuilder().addAllCandidateParents(List.of(parents)))
        .build());
  }

  /** Waits for the scheduler to receive a request that {@code matches}. */
  AnnouncePeerRequest awaitRequest(Predicate<AnnouncePeerRequest> matches) throws InterruptedException {
    long deadline = System.nanoTime() + Poll.DEADLINE.toNanos();
    while (true) {
      AnnouncePeerRequest request = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      assertThat(request).as("the awaited request to the scheduler within " + Poll.DEADLINE.toSeconds() + " s")
          .isNotNull();
      seen.add(request);
      if (matches.test(request)) {
        return request;
      }
    }
  }

  /** The requests the scheduler received up to the last one {@link #awaitRequest} returned. */
  List<AnnouncePeerRequest> seen() {
    return List.copyOf(seen);
  }

  @Override
  public void close() throws Exception {
    schedulerClient.close();
    while (!opened.isEmpty()) {
      opened.pop().close();
    }
  }
}
