package io.dfly.dfcache;

import io.dfly.common.cli.Commands;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.local.LocalApi;
import io.dfly.daemon.local.LocalApiClient;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.dfget.DfgetMain;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
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

    @Option(names = "--daemon", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:65003",
        description = "the local dfdaemon's API address (default ${DEFAULT-VALUE})")
    String daemon;

    String taskId() {
      return TaskId.of(TaskManager.cacheDownload(cid));
    }

    Map<String, String> call(String path, LocalApi.Form request) {
      try {
        return LocalApiClient.call(daemon, path, request, LocalApiClient.Listener.NONE, 0);
      } catch (ConnectException e) {
        throw new Commands.UserError(1, "no dfdaemon at " + daemon);
      } catch (IOException e) {
        throw new Commands.UserError(1, "the dfdaemon at " + daemon + " failed: " + e.getMessage());
      } catch (LocalApiClient.DaemonError e) {
        throw new Commands.UserError(e.kind() == LocalApi.ErrorKind.BAD_REQUEST ? 2 : 1, e.getMessage());
      }
    }

    static void print(String cid, Map<String, String> stat) {
      System.out.printf("cid %s: task %s, %s, %s bytes, %s of %s pieces%n", cid, stat.get("task-id"),
          stat.get("state"), stat.get("content-length"), stat.get("finished-pieces"), stat.get("piece-count"));
    }
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = "Puts a local file into this host's cache under the cache id, pinned.")
  static final class Import extends Common implements Callable<Integer> {
    @CommandLine.Parameters(paramLabel = "FILE", description = "the file")
    Path file;

    @Override
    public Integer call() {
      print(cid, call(LocalApi.IMPORT, new LocalApi.Form().add("cid", cid).add("path", file.toAbsolutePath())));
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
      return DfgetMain.run(args.toArray(String[]::new));
    }
  }

  @Command(name = "stat", mixinStandardHelpOptions = true, description = "Tells whether this host has the cache id.")
  static final class Stat extends Common implements Callable<Integer> {
    @Override
    public Integer call() {
      print(cid, call(LocalApi.STAT, new LocalApi.Form().add("task-id", taskId())));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Removes the cache id from this host.")
  static final class Delete extends Common implements Callable<Integer> {
    @Override
    public Integer call() {
      call(LocalApi.DELETE, new LocalApi.Form().add("task-id", taskId()));
      System.out.printf("cid %s: deleted from this host%n", cid);
      return 0;
    }
  }

  public static void main(String[] args) {
    Commands.exit(new DfcacheMain(), args);
  }
}
