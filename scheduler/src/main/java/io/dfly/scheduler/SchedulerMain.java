package io.dfly.scheduler;

import io.dfly.common.cli.Commands;
import io.dfly.common.cli.Service;
import io.dfly.common.config.ConfigFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "scheduler", mixinStandardHelpOptions = true,
    description = "Schedules peers: picks parents, triggers seed peers, orders back-to-source.")
public final class SchedulerMain implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file")
  Path configFile;

  @Option(names = "--listen", paramLabel = "IP:PORT", description = "gRPC address (default 127.0.0.1:8002)")
  String listen;

  @Option(names = "--cluster-token-file", paramLabel = "FILE",
      description = "file holding the secret the cluster's schedulers and dfdaemons share (needed off loopback)")
  Path clusterTokenFile;

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "serve Prometheus metrics on 127.0.0.1:PORT/metrics (default: off)")
  Integer metricsPort;

  @Override
  public Integer call() throws Exception {
    SchedulerConfig config = ConfigFiles.load(configFile, new SchedulerConfig());
    if (listen != null) {
      config.listen = listen;
    }
    if (clusterTokenFile != null) {
      config.clusterTokenFile = clusterTokenFile.toString();
    }
    if (metricsPort != null) {
      config.metricsPort = metricsPort;
    }
    config.validate();
    return Service.runUntilStopped("scheduler", new SchedulerServer(config));
  }

  public static void main(String[] args) {
    Commands.exit(new SchedulerMain(), args);
  }
}
