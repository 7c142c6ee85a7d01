package io.dfly.quickstart;

import io.dfly.api.common.v1.Download;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.local.LocalApi;
import io.dfly.daemon.local.LocalApiClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A scheduler, a seed peer and N dfdaemons on loopback, each its own OS process running on the
 * current JVM's class path; logs go to files in the work directory. Closing stops every process
 * it started (SIGTERM, then SIGKILL after a grace period).
 */
public final class LocalCluster implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private final Path workDir;
  private final List<Process> processes = new ArrayList<>();
  private final java.util.Map<String, Process> daemonProcesses = new java.util.HashMap<>();
  private final java.util.Map<String, List<String>> daemonArgs = new java.util.HashMap<>();
  private final List<Daemon> daemons = new ArrayList<>();
  private Daemon seed;
  /** Each dfdaemon's proxy port, by name: several daemons on one machine must not share one. */
  private final java.util.Map<String, Integer> proxyPorts = new java.util.HashMap<>();
  /** Scheduler ports and processes, by index; dfdaemons are given all of them. */
  private final List<Integer> schedulerPorts = new ArrayList<>();
  private final List<Process> schedulers = new ArrayList<>();

  /** A dfdaemon of the cluster; dfget reaches it at {@link #api()}. */
  public record Daemon(String name, int grpcPort, int uploadPort, int apiPort, Path dataDir, Path log) {
    /** The address of its local API, for dfget's and dfcache's {@code --daemon}. */
    public String api() {
      return "127.0.0.1:" + apiPort;
    }
  }

  /** What a daemon reports about a task: its state and where its bytes came from. */
  public record TaskStat(String state, long contentLength, int pieceCount, int finishedPieces, long fromOrigin,
      long fromSeedPeers, long fromPeers) {}

  public LocalCluster(Path workDir) {
    this.workDir = workDir;
  }

  /** Starts the scheduler, the seed peer and {@code peers} dfdaemons, and waits until all are ready. */
  public LocalCluster start(int peers) throws IOException, InterruptedException {
    startScheduler();
    seed = startDaemon("seed-peer", true);
    for (int i = 1; i <= peers; i++) {
      daemons.add(startDaemon("peer-" + i, false));
    }
    for (Daemon daemon : allDaemons()) {
      awaitPort(daemon.apiPort(), daemon.log());
    }
    return this;
  }

  /** Starts only the scheduler; add dfdaemons with {@link #addDaemon} and {@link #addSeedPeer}. */
  public LocalCluster startScheduler() throws IOException, InterruptedException {
    return startSchedulers(1);
  }

  /**
   * Starts {@code count} schedulers; every dfdaemon started later is given all of them and
   * spreads its tasks over them by rendezvous hashing.
   */
  public LocalCluster startSchedulers(int count) throws IOException, InterruptedException {
    int first = schedulerPorts.size();
    for (int i = 0; i < count; i++) {
      schedulerPorts.add(freePort());
      schedulers.add(null);
    }
    for (int i = first; i < schedulerPorts.size(); i++) {
      restartScheduler(i);
    }
    return this;
  }

  /** Kills the scheduler at once (SIGKILL). */
  public void killScheduler() throws InterruptedException {
    killScheduler(0);
  }

  /** Kills scheduler {@code index} at once (SIGKILL). */
  public void killScheduler(int index) throws InterruptedException {
    schedulers.get(index).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts the scheduler (again) on its port; a restarted one starts empty, as schedulers do. */
  public void restartScheduler() throws IOException, InterruptedException {
    restartScheduler(0);
  }

  /** Starts scheduler {@code index} (again) on its port, empty; its log is {@code scheduler-<index>[-restarted].log}. */
  public void restartScheduler(int index) throws IOException, InterruptedException {
    String name = schedulerLogName(index);
    int port = schedulerPorts.get(index);
    schedulers.set(index, launch(name, "io.dfly.scheduler.SchedulerMain", "--listen", "127.0.0.1:" + port));
    awaitPort(port, workDir.resolve(name + ".log"));
  }

  private String schedulerLogName(int index) {
    String name = schedulerPorts.size() == 1 ? "scheduler" : "scheduler-" + index;
    return schedulers.get(index) == null ? name : name + "-restarted";
  }

  /** The schedulers' addresses ({@code 127.0.0.1:port}), by index. */
  public List<String> schedulerAddresses() {
    return schedulerPorts.stream().map(port -> "127.0.0.1:" + port).toList();
  }

  /** Starts a seed peer in a cluster started with {@link #startScheduler}. */
  public Daemon addSeedPeer(String name, String... extraArgs) throws IOException, InterruptedException {
    seed = startDaemon(name, true, extraArgs);
    awaitPort(seed.apiPort(), seed.log());
    return seed;
  }

  /** Freezes a dfdaemon (SIGSTOP): its connections stay open and send nothing, like a hung host. */
  public void pause(Daemon daemon) throws IOException, InterruptedException {
    signal(daemon, "-STOP");
  }

  public void resume(Daemon daemon) throws IOException, InterruptedException {
    signal(daemon, "-CONT");
  }

  private void signal(Daemon daemon, String signal) throws IOException, InterruptedException {
    long pid = daemonProcesses.get(daemon.name()).pid();
    new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start().waitFor();
  }

  /** Starts one more dfdaemon with extra command-line options and waits until it is ready. */
  public Daemon addDaemon(String name, String... extraArgs) throws IOException, InterruptedException {
    Daemon daemon = startDaemon(name, false, extraArgs);
    daemons.add(daemon);
    awaitPort(daemon.apiPort(), daemon.log());
    return daemon;
  }

  private Daemon startDaemon(String name, boolean seedPeer, String... extraArgs) throws IOException {
    Daemon daemon = new Daemon(name, freePort(), freePort(), freePort(), workDir.resolve(name),
        workDir.resolve(name + ".log"));
    List<String> args = new ArrayList<>(List.of("--scheduler", String.join(",", schedulerAddresses()),
        "--data-dir", daemon.dataDir().toString(), "--listen", "127.0.0.1",
        "--grpc-port", String.valueOf(daemon.grpcPort()), "--upload-port", String.valueOf(daemon.uploadPort()),
        "--api-port", String.valueOf(daemon.apiPort())));
    if (seedPeer) {
      args.add("--seed-peer");
    }
    int proxyPort = freePort();
    proxyPorts.put(name, proxyPort);
    args.addAll(List.of("--proxy-port", String.valueOf(proxyPort)));
    args.addAll(List.of(extraArgs));
    daemonArgs.put(name, args);
    daemonProcesses.put(name, launch(name, "io.dfly.daemon.DfdaemonMain", args.toArray(String[]::new)));
    return daemon;
  }

  /** Kills a dfdaemon at once (SIGKILL), as a crash or a pulled plug would. */
  public void kill(Daemon daemon) throws InterruptedException {
    Process process = daemonProcesses.get(daemon.name());
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts a killed or stopped dfdaemon again with its data directory, ports and options. */
  public void restart(Daemon daemon) throws IOException, InterruptedException {
    List<String> args = daemonArgs.get(daemon.name());
    daemonProcesses.put(daemon.name(), launch(daemon.name() + "-restarted", "io.dfly.daemon.DfdaemonMain",
        args.toArray(String[]::new)));
    awaitPort(daemon.apiPort(), workDir.resolve(daemon.name() + "-restarted.log"));
  }

  public List<Daemon> peers() {
    return List.copyOf(daemons);
  }

  public Daemon seed() {
    return seed;
  }

  /** Where a dfdaemon's HTTP proxy and registry mirror listen, on 127.0.0.1. */
  public int proxyPort(Daemon daemon) {
    return proxyPorts.get(daemon.name());
  }

  public Path workDir() {
    return workDir;
  }

  private List<Daemon> allDaemons() {
    List<Daemon> all = new ArrayList<>(daemons);
    if (seed != null) {
      all.add(0, seed);
    }
    return all;
  }

  /** Starts dfget against a daemon of the cluster; its stderr goes to {@code <name>.dfget.log}. */
  public Process dfget(Daemon daemon, String url, Path output, String... extra) throws IOException {
    List<String> command = javaCommand("io.dfly.dfget.DfgetMain", "-Xmx128m", "-XX:TieredStopAtLevel=1");
    command.addAll(List.of(url, "-O", output.toString(), "--daemon", daemon.api(), "--no-progress"));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(workDir.resolve(daemon.name() + ".dfget.log").toFile())
        .start();
  }

  /** What a daemon reports about a task of a URL; NoSuchElementException when it has no such task. */
  public static TaskStat stat(Daemon daemon, String url) {
    try {
      Map<String, String> stat = LocalApiClient.call(daemon.api(), LocalApi.STAT, new LocalApi.Form()
          .add("task-id", TaskId.of(Download.newBuilder().setUrl(url).build())), LocalApiClient.Listener.NONE, 10_000);
      return new TaskStat(stat.get("state"), Long.parseLong(stat.get("content-length")),
          Integer.parseInt(stat.get("piece-count")), Integer.parseInt(stat.get("finished-pieces")),
          Long.parseLong(stat.get("from-origin")), Long.parseLong(stat.get("from-seed-peers")),
          Long.parseLong(stat.get("from-peers")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (LocalApiClient.DaemonError e) {
      if (e.kind() == LocalApi.ErrorKind.NOT_FOUND) {
        throw new java.util.NoSuchElementException(daemon.name() + ": " + e.getMessage());
      }
      throw new IllegalStateException(daemon.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The java command for a main class on this JVM's class path (in Surefire, its manifest-only
   * jar, whose Class-Path a child JVM follows too).
   */
  public static List<String> javaCommand(String mainClass, String... jvmOptions) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("--enable-native-access=ALL-UNNAMED");
    if (Runtime.version().feature() >= 23) {
      command.add("--sun-misc-unsafe-memory-access=allow");
    }
    command.add("-XX:+UseSerialGC");
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    return command;
  }

  private Process launch(String name, String mainClass, String... args) throws IOException {
    List<String> command = javaCommand(mainClass, "-Xmx256m");
    command.addAll(List.of(args));
    Files.createDirectories(workDir);
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(workDir.resolve(name + ".log").toFile())
        .start();
    processes.add(process);
    return process;
  }

  private void awaitPort(int port, Path log) throws InterruptedException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException notYet) {
        if (processes.stream().anyMatch(p -> !p.isAlive() && p.exitValue() != 137 && p.exitValue() != 143)) {
          throw new IllegalStateException("a cluster process exited early; see " + log);
        }
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("nothing listens on port " + port + " after " + READY_TIMEOUT + "; see " + log);
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    for (Process process : processes.reversed()) {
      process.destroy();
    }
    for (Process process : processes) {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
