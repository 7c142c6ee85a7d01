package io.dfly.quickstart;

import io.dfly.common.fs.FileTrees;
import io.dfly.daemon.DaemonConfig;
import io.dfly.daemon.Dfdaemon;
import io.dfly.dfget.DfgetMain;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.SchedulerServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One peer-to-peer download through a scheduler, a seed peer and a dfdaemon, all in this JVM on
 * loopback. The dfdaemon and scheduler launchers run it once per installation with the JVM
 * recording its start-up cache (JDK 25 AOT), so a fresh daemon starts with the classes of its
 * whole data path loaded and linked, and with their profiles: it is ready in about half the time
 * and its first download does not pay for class loading (docs/decisions.md).
 */
public final class ServerTraining {
  private static final long SIZE = 8L << 20;

  private ServerTraining() {}

  public static void main(String[] args) throws Exception {
    System.exit(run());
  }

  /** @return 0 when the file arrived through the seed peer; dfget's exit code when it failed, 1 when it came from the origin */
  static int run() throws Exception {
    Path dir = Files.createTempDirectory("dfly-training");
    try {
      Path originDir = Files.createDirectories(dir.resolve("origin"));
      Quickstart.generate(originDir.resolve("blob"), SIZE);
      SchedulerConfig schedulerConfig = new SchedulerConfig();
      schedulerConfig.listen = "127.0.0.1:" + freePort();
      DaemonConfig peerConfig = daemonConfig(dir.resolve("peer"), schedulerConfig.listen, false);
      try (OriginServer origin = new OriginServer(originDir);
           SchedulerServer scheduler = new SchedulerServer(schedulerConfig);
           Dfdaemon seed = new Dfdaemon(daemonConfig(dir.resolve("seed"), schedulerConfig.listen, true));
           Dfdaemon peer = new Dfdaemon(peerConfig)) {
        int exit = DfgetMain.run(origin.url("blob"), "-O", dir.resolve("out").toString(),
            "--daemon", "127.0.0.1:" + peerConfig.apiPort, "--no-progress");
        // The seed peer's fetch only: a peer that went to the origin too missed the P2P path.
        return exit != 0 ? exit : origin.bytesSent() < 2 * SIZE ? 0 : 1;
      }
    } finally {
      FileTrees.delete(dir);
    }
  }

  private static DaemonConfig daemonConfig(Path dataDir, String scheduler, boolean seedPeer) throws IOException {
    DaemonConfig config = new DaemonConfig();
    config.dataDir = dataDir.toString();
    config.scheduler = List.of(scheduler);
    config.seedPeer = seedPeer;
    config.grpcPort = freePort();
    config.uploadPort = freePort();
    config.apiPort = freePort();
    config.proxy.port = freePort();
    return config;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
