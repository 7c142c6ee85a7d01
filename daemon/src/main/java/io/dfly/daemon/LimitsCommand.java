package io.dfly.daemon;

import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.Limits;
import io.dfly.api.dfdaemon.v1.SetLimitsRequest;
import io.dfly.common.cli.Commands;
import io.dfly.common.net.HostPort;
import io.dfly.common.unit.ByteSize;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dfdaemon limits}: shows or changes a running daemon's rate limits. */
@Command(name = "limits", mixinStandardHelpOptions = true,
    description = "Shows or changes the rate limits of a running dfdaemon (0 = unlimited); with "
        + "--task and --task-rate, one running download's.")
final class LimitsCommand implements Callable<Integer> {

  @Option(names = "--daemon", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:65000",
      description = "the dfdaemon (default ${DEFAULT-VALUE})")
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
  public Integer call() throws InterruptedException {
    if ((taskId == null) != (taskRate == null)) {
      throw new IllegalArgumentException("--task and --task-rate go together");
    }
    SetLimitsRequest.Builder request = SetLimitsRequest.newBuilder();
    if (downloadRate != null) {
      request.setDownloadRate(ByteSize.parse(downloadRate));
    }
    if (uploadRate != null) {
      request.setUploadRate(ByteSize.parse(uploadRate));
    }
    if (taskId != null) {
      request.setTaskId(taskId).setTaskRate(ByteSize.parse(taskRate));
    }
    HostPort address = HostPort.parse(daemon);
    ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port()).usePlaintext().build();
    try {
      Limits limits = DfdaemonDownloadGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .setLimits(request.build());
      System.out.printf("download %s, upload %s, at most %d uploads at once%n", rate(limits.getDownloadRate()),
          rate(limits.getUploadRate()), limits.getMaxConcurrentUploads());
      return 0;
    } catch (StatusRuntimeException e) {
      throw new Commands.UserError(1, e.getStatus().getDescription() != null ? e.getStatus().getDescription()
          : "no dfdaemon answers at " + daemon + " (" + e.getStatus().getCode() + ")");
    } finally {
      channel.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
    }
  }

  private static String rate(long bytesPerSecond) {
    return bytesPerSecond <= 0 ? "unlimited" : ByteSize.format(bytesPerSecond) + "/s";
  }
}
