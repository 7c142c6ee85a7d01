package io.dfly.dfcache;

import io.dfly.api.dfdaemon.v1.DeleteTaskRequest;
import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.ImportTaskRequest;
import io.dfly.api.dfdaemon.v1.StatTaskRequest;
import io.dfly.api.dfdaemon.v1.TaskStat;
import io.dfly.common.cli.Commands;
import io.dfly.common.net.HostPort;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.dfget.DfgetMain;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The P2P cache by id: put a local file in (pinned, so garbage collection keeps it), fetch it
 * on any host from the hosts that have it, look at it, remove it.
 */
@Command(name = "dfcache", mixinStandardHelpOptions = true,
    description = "Puts files into the P2P cache under a cache id and gets them back on any host.",
    subcommands = {DfcacheMain.Import.class, DfcacheMain.Export.class, DfcacheMain.Stat.class,
        DfcacheMain.Delete.class})
public final class DfcacheMain implements Callable<Integer> {

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(new CommandLine(this), "name a subcommand: import, export, stat or delete");
  }

  static class Common {
    @Option(names = "--cid", required = true, paramLabel = "ID", description = "the cache id")
    String cid;

    @Option(names = "--daemon", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:65000",
        description = "the local dfdaemon (default ${DEFAULT-VALUE})")
    String daemon;

    String taskId() {
      return TaskId.of(TaskManager.cacheDownload(cid));
    }

    <T> T call(Function<DfdaemonDownloadGrpc.DfdaemonDownloadBlockingStub, T> rpc) {
      HostPort address = HostPort.parse(daemon);
      ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port()).usePlaintext().build();
      try {
        return rpc.apply(DfdaemonDownloadGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES));
      } catch (StatusRuntimeException e) {
        String reason = e.getStatus().getDescription() != null ? e.getStatus().getDescription()
            : e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE ? "no dfdaemon at " + daemon
            : e.getStatus().getCode().toString();
        throw new Commands.UserError(1, reason);
      } finally {
        channel.shutdownNow();
      }
    }

    static void print(String cid, TaskStat stat) {
      System.out.printf("cid %s: task %s, %s, %d bytes, %d of %d pieces%n", cid, stat.getTaskId(), stat.getState(),
          stat.getContentLength(), stat.getFinishedPieces(), stat.getPieceCount());
    }
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = "Puts a local file into this host's cache under the cache id, pinned.")
  static final class Import extends Common implements Callable<Integer> {
    @CommandLine.Parameters(paramLabel = "FILE", description = "the file")
    Path file;

    @Override
    public Integer call() {
      TaskStat stat = call(stub -> stub.importTask(ImportTaskRequest.newBuilder()
          .setCid(cid).setPath(file.toAbsolutePath().toString()).build()));
      print(cid, stat);
      return 0;
    }
  }

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = "Fetches the file with the cache id from the hosts that have it (never an origin).")
  static final class Export extends Common implements Callable<Integer> {
    @Option(names = {"-O", "--output"}, required = true, paramLabel = "FILE", description = "output file, '-' for stdout")
    String output;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "give up after this long")
    Long timeoutSeconds;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public Integer call() {
      List<String> args = new ArrayList<>(List.of(TaskManager.CACHE_SCHEME + cid, "-O", output, "--daemon", daemon));
      if (timeoutSeconds != null) {
        args.addAll(List.of("--timeout", timeoutSeconds.toString()));
      }
      if (noProgress) {
        args.add("--no-progress");
      }
      return Commands.run(new DfgetMain(), args.toArray(String[]::new));
    }
  }

  @Command(name = "stat", mixinStandardHelpOptions = true, description = "Tells whether this host has the cache id.")
  static final class Stat extends Common implements Callable<Integer> {
    @Override
    public Integer call() {
      print(cid, call(stub -> stub.statTask(StatTaskRequest.newBuilder().setTaskId(taskId()).build())));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Removes the cache id from this host.")
  static final class Delete extends Common implements Callable<Integer> {
    @Override
    public Integer call() {
      call(stub -> stub.deleteTask(DeleteTaskRequest.newBuilder().setTaskId(taskId()).build()));
      System.out.printf("cid %s: deleted from this host%n", cid);
      return 0;
    }
  }

  public static void main(String[] args) {
    Commands.exit(new DfcacheMain(), args);
  }
}
