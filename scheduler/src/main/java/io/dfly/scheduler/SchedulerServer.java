package io.dfly.scheduler;

import io.dfly.common.net.HostPort;
import io.dfly.scheduler.resource.Hosts;
import io.dfly.scheduler.rpc.GrpcSeedTrigger;
import io.dfly.scheduler.rpc.SchedulerService;
import io.dfly.scheduler.scheduling.ParentSelector;
import io.dfly.scheduler.scheduling.TaskScheduler;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running scheduler: the gRPC server, the decisions, and the periodic rescheduling pass. */
public final class SchedulerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SchedulerServer.class);

  private final GrpcSeedTrigger seedTrigger = new GrpcSeedTrigger();
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("reschedule").factory());
  private final Server server;

  public SchedulerServer(SchedulerConfig config) throws IOException {
    TaskScheduler scheduler = new TaskScheduler(new Hosts(), new ParentSelector(config.candidateParentLimit),
        seedTrigger, config.backToSourceLimit, config.pendingTimeoutMillis);
    HostPort listen = HostPort.parse(config.listen);
    server = NettyServerBuilder.forAddress(new InetSocketAddress(listen.host(), listen.port()))
        .executor(Executors.newVirtualThreadPerTaskExecutor())
        .addService(new SchedulerService(scheduler))
        .build()
        .start();
    ticker.scheduleWithFixedDelay(() -> {
      try {
        scheduler.tick();
      } catch (RuntimeException e) {
        log.warn("rescheduling pass failed", e);
      }
    }, config.rescheduleIntervalMillis, config.rescheduleIntervalMillis, TimeUnit.MILLISECONDS);
    log.info("scheduler listening on {}", config.listen);
  }

  @Override
  public void close() throws InterruptedException {
    ticker.shutdownNow();
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
    }
    seedTrigger.close();
  }
}
