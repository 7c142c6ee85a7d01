package io.dfly.daemon;

import io.dfly.common.cli.Commands;
import io.dfly.common.cli.Service;
import io.dfly.common.config.ConfigFiles;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "dfdaemon", mixinStandardHelpOptions = true, subcommands = LimitsCommand.class,
    description = "The peer daemon: downloads pieces from other hosts, serves what it has, "
        + "fetches from origins when told to; with --seed-peer, a seed peer.")
public final class DfdaemonMain implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file")
  Path configFile;

  @Option(names = "--cluster-token-file", paramLabel = "FILE",
      description = "file holding the secret the cluster's schedulers and dfdaemons share (needed off loopback)")
  Path clusterTokenFile;

  @Option(names = "--scheduler", paramLabel = "HOST:PORT[,HOST:PORT...]", split = ",", hideParamSyntax = true,
      description = "schedulers (default 127.0.0.1:8002)")
  List<String> schedulers;

  @Option(names = "--data-dir", paramLabel = "DIR", description = "piece store and state")
  Path dataDir;

  @Option(names = "--listen", paramLabel = "IP", description = "address peers reach this daemon on (default 127.0.0.1)")
  String listen;

  @Option(names = "--advertise-ip", paramLabel = "IP", description = "address announced when --listen is a wildcard")
  String advertiseIp;

  @Option(names = "--grpc-port", paramLabel = "PORT", description = "gRPC port for peers and the scheduler (default 65000)")
  Integer grpcPort;

  @Option(names = "--api-port", paramLabel = "PORT", description = "loopback port for dfget, dfcache and 'dfdaemon limits' (default 65003)")
  Integer apiPort;

  @Option(names = "--upload-port", paramLabel = "PORT", description = "HTTP port serving piece bytes (default 65002)")
  Integer uploadPort;

  @Option(names = "--seed-peer", description = "run as a seed peer")
  boolean seedPeer;

  @Option(names = "--proxy-port", paramLabel = "PORT", description = "port of the HTTP proxy and registry mirror on loopback (default 65001)")
  Integer proxyPort;

  @Option(names = "--no-proxy", description = "run without the HTTP proxy and registry mirror")
  boolean noProxy;

  @Option(names = "--registry-mirror", paramLabel = "URL",
      description = "registry that /v2/ requests go to when they name none (default https://registry-1.docker.io)")
  String registryMirror;

  @Override
  public Integer call() throws Exception {
    DaemonConfig config = ConfigFiles.load(configFile, new DaemonConfig());
    if (clusterTokenFile != null) {
      config.clusterTokenFile = clusterTokenFile.toString();
    }
    if (schedulers != null) {
      config.scheduler = schedulers;
    }
    if (dataDir != null) {
      config.dataDir = dataDir.toString();
    }
    if (listen != null) {
      config.listen = listen;
    }
    if (advertiseIp != null) {
      config.advertiseIp = advertiseIp;
    }
    if (grpcPort != null) {
      config.grpcPort = grpcPort;
    }
    if (apiPort != null) {
      config.apiPort = apiPort;
    }
    if (uploadPort != null) {
      config.uploadPort = uploadPort;
    }
    config.seedPeer |= seedPeer;
    if (proxyPort != null) {
      config.proxy.port = proxyPort;
    }
    config.proxy.enabled &= !noProxy;
    if (registryMirror != null) {
      config.proxy.registryMirror.url = registryMirror;
    }
    return Service.runUntilStopped("dfdaemon", new Dfdaemon(config));
  }

  public static void main(String[] args) {
    Commands.exit(new DfdaemonMain(), args);
  }
}
