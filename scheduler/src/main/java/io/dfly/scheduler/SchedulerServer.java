package io.dfly.scheduler;

import io.dfly.common.auth.ClusterToken;
import io.dfly.common.net.HostPort;
import io.dfly.scheduler.metrics.MetricsServer;
import io.dfly.scheduler.metrics.SchedulerMetrics;
import io.dfly.scheduler.rpc.GrpcSeedTrigger;
import io.dfly.scheduler.rpc.SchedulerService;
import io.dfly.scheduler.scheduling.TaskScheduler;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running scheduler: the gRPC server, the decisions, the periodic pass, and its metrics. */
public final class SchedulerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SchedulerServer.class);

  private final GrpcSeedTrigger seedTrigger;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("reschedule").factory());
  private final Server server;
  private final MetricsServer metricsServer;

  public SchedulerServer(SchedulerConfig config) throws IOException {
    config.validate();
    HostPort listen = HostPort.parse(config.listen);
    ClusterToken token = ClusterToken.of(config.clusterToken, config.clusterTokenFile);
    ClusterToken.requireFor(listen.host(), token, "the scheduler");
    seedTrigger = new GrpcSeedTrigger(token);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    TaskScheduler scheduler = new TaskScheduler(config, seedTrigger, new SchedulerMetrics(registry), System::nanoTime);
    server = NettyServerBuilder.forAddress(new InetSocketAddress(listen.host(), listen.port()))
        // Handlers run on the netty thread that read the message: they only take a task's lock
        // for well under a millisecond and never block, and a hand-off to another thread per
        // message cost more than the handling itself (each peer sends several).
        .directExecutor()
        .addService(ServerInterceptors.intercept(new SchedulerService(scheduler), token.serverInterceptor()))
        .build()
        .start();
    ticker.scheduleWithFixedDelay(() -> {
      try {
        scheduler.tick();
      } catch (RuntimeException e) {
        log.warn("rescheduling pass failed", e);
      }
    }, config.rescheduleIntervalMillis, config.rescheduleIntervalMillis, TimeUnit.MILLISECONDS);
    metricsServer = config.metricsPort == 0 ? null : new MetricsServer(config.metricsPort, registry);
    log.info("scheduler listening on {}{}", config.listen,
        metricsServer == null ? "" : ", metrics on http://127.0.0.1:" + metricsServer.port() + "/metrics");
  }

  @Override
  public void close() throws InterruptedException {
    ticker.shutdownNow();
    if (metricsServer != null) {
      metricsServer.close();
    }
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
    seedTrigger.close();
  }
}
