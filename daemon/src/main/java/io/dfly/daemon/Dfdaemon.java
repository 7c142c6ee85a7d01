package io.dfly.daemon;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.common.auth.ClusterToken;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.net.HostPort;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.proxy.ProxyServer;
import io.dfly.daemon.local.LocalApiServer;
import io.dfly.daemon.rpc.PeerChannels;
import io.dfly.daemon.rpc.PeerService;
import io.dfly.daemon.rpc.SchedulerClient;
import io.dfly.common.unit.ByteSize;
import io.dfly.daemon.storage.GarbageCollector;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.upload.SeedHandout;
import io.dfly.daemon.upload.UploadServer;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running dfdaemon: piece store, upload server, gRPC services for peers and the scheduler (on
 * the listen address), the local API for dfget and dfcache (on 127.0.0.1), and the link to the
 * schedulers.
 */
public final class Dfdaemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dfdaemon.class);
  private static final int FIRST_ANNOUNCE_ATTEMPTS = 10;
  /** How much progress a crash can lose, at most. */
  private static final long CHECKPOINT_MILLIS = 2000;

  private final PieceStore pieceStore;
  private final SchedulerClient scheduler;
  private final PeerChannels peerChannels;
  private final UploadServer uploadServer;
  /** Null when disabled or when its port could not be had: the rest of the daemon works without it. */
  private final ProxyServer proxy;
  private final RateLimiter uploadRate;
  private final List<Server> grpcServers = new ArrayList<>();
  private final LocalApiServer localApi;
  private final ScheduledExecutorService announcer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("housekeeping").factory());

  public Dfdaemon(DaemonConfig config) throws IOException, InterruptedException {
    ClusterToken token = ClusterToken.of(config.clusterToken, config.clusterTokenFile);
    ClusterToken.requireFor(config.listen, token, "dfdaemon");
    peerChannels = new PeerChannels(token);
    Host host = describeHost(config);
    pieceStore = new PieceStore(Path.of(config.dataDir), config.directIo);
    // A scheduler back from the dead gets its tasks once every host has announced to it again.
    scheduler = new SchedulerClient(config.scheduler.stream().map(HostPort::parse).toList(), host,
        Duration.ofSeconds(config.announceIntervalSeconds + 1), token);
    TaskManager tasks = new TaskManager(config, host, pieceStore, scheduler, peerChannels);
    proxy = config.proxy.enabled ? startProxy(config, tasks) : null;
    GarbageCollector gc = new GarbageCollector(pieceStore, new GarbageCollector.Policy(
        config.gc.taskTtlSeconds * 1000, config.gc.highWatermarkPercent, config.gc.lowWatermarkPercent,
        config.gc.quota.isBlank() ? 0 : ByteSize.parse(config.gc.quota)), tasks::isDownloading, System::currentTimeMillis);
    tasks.useGarbageCollector(gc);
    uploadRate = new RateLimiter(config.uploadRate.isBlank() ? 0 : ByteSize.parse(config.uploadRate));
    // A seed peer hands pieces out so that each leaves it about once (super-seeding).
    SeedHandout handouts = config.seedPeer ? new SeedHandout() : null;
    uploadServer = new UploadServer(config.listen, config.uploadPort, pieceStore, uploadRate, config.uploadLimit,
        handouts == null ? UploadServer.UploadListener.NONE : handouts::uploaded, token);
    scheduler.reportLoad(new HostLoadSampler(uploadServer::activeUploads, uploadServer::uploadedBytes,
        uploadRate::rate, System::nanoTime)::sample);
    // Listening before the scheduler hears of this host: it connects to a seed peer at once, and
    // a refused connect would leave its channel backing off when the first trigger comes.
    for (String ip : List.of(config.listen)) {
      grpcServers.add(NettyServerBuilder.forAddress(new InetSocketAddress(ip, config.grpcPort))
          .executor(Executors.newVirtualThreadPerTaskExecutor())
          .addService(ServerInterceptors.intercept(new PeerService(tasks, handouts), token.serverInterceptor()))
          .build()
          .start());
    }
    announceUntilAccepted();
    // Set after the first announce: restoreTasks() below announces every finished task once.
    scheduler.onTasksMoved(tasks::tasksMoved);
    announcer.scheduleWithFixedDelay(scheduler::announceHost,
        config.announceIntervalSeconds, config.announceIntervalSeconds, TimeUnit.SECONDS);
    localApi = new LocalApiServer(config.apiPort, tasks, uploadRate, config.uploadLimit);
    announcer.scheduleWithFixedDelay(gc::collect, config.gc.intervalSeconds, config.gc.intervalSeconds,
        TimeUnit.SECONDS);
    announcer.scheduleWithFixedDelay(pieceStore::checkpointAll, CHECKPOINT_MILLIS, CHECKPOINT_MILLIS,
        TimeUnit.MILLISECONDS);
    tasks.restoreTasks();
    log.info("dfdaemon {} ready: peers on {}:{} (upload {}), dfget on 127.0.0.1:{}{}", host.getId(),
        host.getIp(), config.grpcPort, config.uploadPort, config.apiPort, config.seedPeer ? ", seed peer" : "");
  }

  private static ProxyServer startProxy(DaemonConfig config, TaskManager tasks) {
    try {
      return ProxyServer.start(config.proxy, config.source.tls, tasks, Path.of(config.dataDir));
    } catch (IOException e) {
      log.error("{}; running without the proxy", e.getMessage());
      return null;
    }
  }

  private void announceUntilAccepted() throws InterruptedException {
    for (int attempt = 1; attempt <= FIRST_ANNOUNCE_ATTEMPTS; attempt++) {
      if (scheduler.announceHost() > 0) {
        return;
      }
      Thread.sleep(1000);
    }
    log.warn("no scheduler accepted this host yet; downloads go to the origin until one does");
  }

  static Host describeHost(DaemonConfig config) throws UnknownHostException, SocketException {
    String ip = config.advertiseIp != null ? config.advertiseIp
        : InetAddress.getByName(config.listen).isAnyLocalAddress() ? firstSiteAddress() : config.listen;
    String hostname = config.hostname != null ? config.hostname
        : localHostname(() -> InetAddress.getLocalHost().getHostName(), Path.of("/proc/sys/kernel/hostname"));
    return Host.newBuilder()
        // The port is part of the id so that several daemons on one machine are distinct hosts.
        .setId(hostname + "-" + ip + "-" + config.grpcPort)
        .setHostname(hostname)
        .setIp(ip)
        .setGrpcPort(config.grpcPort)
        .setUploadPort(config.uploadPort)
        .setType(config.seedPeer ? HostType.HOST_TYPE_SEED : HostType.HOST_TYPE_NORMAL)
        .setIdc(config.idc)
        .setLocation(config.location)
        .setUploadLimit(config.uploadLimit)
        .build();
  }

  /**
   * The machine's host name. Java only gives it by resolving it, which fails on a host whose own
   * name is in neither DNS nor /etc/hosts (a renamed VM, a container started with a host name);
   * the kernel's name is used then, so the daemon still starts.
   */
  static String localHostname(HostnameLookup resolved, Path kernelName) throws UnknownHostException {
    try {
      return resolved.name();
    } catch (UnknownHostException unresolved) {
      try {
        String name = Files.readString(kernelName).strip();
        if (!name.isEmpty()) {
          log.warn("this host's name does not resolve ({}); using {} from {}", unresolved.getMessage(), name,
              kernelName);
          return name;
        }
      } catch (IOException unreadable) {
        // not Linux: nothing else to ask
      }
      UnknownHostException failure = new UnknownHostException("this host's name does not resolve ("
          + unresolved.getMessage() + "); set hostname in the dfdaemon config");
      failure.initCause(unresolved);
      throw failure;
    }
  }

  /** Resolves this machine's own name, as {@code InetAddress.getLocalHost().getHostName()} does. */
  @FunctionalInterface
  interface HostnameLookup {
    String name() throws UnknownHostException;
  }

  private static String firstSiteAddress() throws SocketException {
    for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
      if (nic.isUp() && !nic.isLoopback()) {
        for (InetAddress address : nic.inetAddresses().toList()) {
          if (address instanceof java.net.Inet4Address) {
            return address.getHostAddress();
          }
        }
      }
    }
    return "127.0.0.1";
  }

  @Override
  public void close() throws InterruptedException {
    announcer.shutdownNow();
    localApi.close();
    for (Server server : grpcServers) {
      server.shutdown();
    }
    for (Server server : grpcServers) {
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (proxy != null) {
      proxy.close();
    }
    uploadServer.close();
    scheduler.close();
    peerChannels.close();
    pieceStore.close();
  }
}
