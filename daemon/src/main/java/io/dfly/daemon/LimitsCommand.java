package io.dfly.daemon;

import io.dfly.common.cli.Commands;
import io.dfly.common.unit.ByteSize;
import io.dfly.daemon.local.LocalApi;
import io.dfly.daemon.local.LocalApiClient;
import java.io.IOException;
import java.net.ConnectException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dfdaemon limits}: shows or changes a running daemon's rate limits. */
@Command(name = "limits", mixinStandardHelpOptions = true,
    description = "Shows or changes the rate limits of a running dfdaemon (0 = unlimited); with "
        + "--task and --task-rate, one running download's.")
final class LimitsCommand implements Callable<Integer> {

  @Option(names = "--daemon", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:65003",
      description = "the dfdaemon's API address (default ${DEFAULT-VALUE})")
  String daemon;

  @Option(names = "--download-rate", paramLabel = "RATE", description = "host download rate, like 100MiB")
  String downloadRate;

  @Option(names = "--upload-rate", paramLabel = "RATE", description = "host upload rate, like 50MiB")
  String uploadRate;

  @Option(names = "--task", paramLabel = "TASK_ID", description = "a running download")
  String taskId;

  @Option(names = "--task-rate", paramLabel = "RATE", description = "that download's rate")
  String taskRate;

  @Override
  public Integer call() {
    if ((taskId == null) != (taskRate == null)) {
      throw new IllegalArgumentException("--task and --task-rate go together");
    }
    LocalApi.Form request = new LocalApi.Form()
        .add("download-rate", downloadRate == null ? null : ByteSize.parse(downloadRate))
        .add("upload-rate", uploadRate == null ? null : ByteSize.parse(uploadRate))
        .add("task-id", taskId)
        .add("task-rate", taskRate == null ? null : ByteSize.parse(taskRate));
    try {
      Map<String, String> limits = LocalApiClient.call(daemon, LocalApi.LIMITS, request,
          LocalApiClient.Listener.NONE, 10_000);
      System.out.printf("download %s, upload %s, at most %s uploads at once%n",
          rate(Long.parseLong(limits.get("download-rate"))), rate(Long.parseLong(limits.get("upload-rate"))),
          limits.get("max-concurrent-uploads"));
      return 0;
    } catch (ConnectException e) {
      throw new Commands.UserError(1, "no dfdaemon answers at " + daemon);
    } catch (IOException e) {
      throw new Commands.UserError(1, "the dfdaemon at " + daemon + " failed: " + e.getMessage());
    } catch (LocalApiClient.DaemonError e) {
      throw new Commands.UserError(1, e.getMessage());
    }
  }

  private static String rate(long bytesPerSecond) {
    return bytesPerSecond <= 0 ? "unlimited" : ByteSize.format(bytesPerSecond) + "/s";
  }
}
