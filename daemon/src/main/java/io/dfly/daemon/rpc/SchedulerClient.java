package io.dfly.daemon.rpc;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.LeaveHostRequest;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.common.digest.Digests;
import io.dfly.common.net.HostPort;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's link to its schedulers: announces the host to every scheduler and opens each
 * task's peer stream on the scheduler that owns the task (rendezvous hashing of the task id
 * over the configured schedulers, so every peer of a task meets on the same one).
 */
public final class SchedulerClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SchedulerClient.class);

  private final Host host;
  /** Samples the host's load for each announcement; null until set. */
  private volatile Supplier<HostLoad> load;
  private final List<Endpoint> endpoints = new ArrayList<>();

  private record Endpoint(HostPort address, ManagedChannel channel) {}

  public SchedulerClient(List<HostPort> schedulers, Host host) {
    if (schedulers.isEmpty()) {
      throw new IllegalArgumentException("no scheduler address given (--scheduler HOST:PORT)");
    }
    this.host = host;
    for (HostPort address : schedulers) {
      ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port())
          .usePlaintext()
          .build();
      endpoints.add(new Endpoint(address, channel));
    }
  }

  public Host host() {
    return host;
  }

  /** Where each announcement gets the host's current load from. */
  public void reportLoad(Supplier<HostLoad> sampler) {
    load = sampler;
  }

  private AnnounceHostRequest announceRequest() {
    AnnounceHostRequest.Builder request = AnnounceHostRequest.newBuilder().setHost(host);
    Supplier<HostLoad> sampler = load;
    if (sampler != null) {
      request.setLoad(sampler.get());
    }
    return request.build();
  }

  /** Announces this host to every scheduler; returns how many accepted it. */
  public int announceHost() {
    return announceHost(() -> { });
  }

  /**
   * Announces the host to every scheduler; returns how many took it. {@code onForgotten} runs
   * when a scheduler did not know the host: it restarted and lost what this host holds.
   */
  public int announceHost(Runnable onForgotten) {
    int accepted = 0;
    boolean forgotten = false;
    for (Endpoint endpoint : endpoints) {
      try {
        forgotten |= SchedulerGrpc.newBlockingStub(endpoint.channel())
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .announceHost(announceRequest())
            .getNewHost();
        accepted++;
      } catch (RuntimeException e) {
        log.debug("scheduler {} did not take the host announcement: {}", endpoint.address(), e.getMessage());
      }
    }
    if (forgotten) {
      onForgotten.run();
    }
    return accepted;
  }

  /** Opens the peer stream of a task on the scheduler that owns it. */
  public StreamObserver<AnnouncePeerRequest> announcePeer(
      String taskId, StreamObserver<AnnouncePeerResponse> responses) {
    return SchedulerGrpc.newStub(ownerOf(taskId).channel()).announcePeer(responses);
  }

  public String ownerAddress(String taskId) {
    return ownerOf(taskId).address().toString();
  }

  private Endpoint ownerOf(String taskId) {
    return endpoints.stream()
        .max(Comparator.comparing(e -> Digests.sha256Hex(
            (e.address() + "/" + taskId).getBytes(StandardCharsets.UTF_8))))
        .orElseThrow();
  }

  @Override
  public void close() {
    for (Endpoint endpoint : endpoints) {
      try {
        SchedulerGrpc.newBlockingStub(endpoint.channel())
            .withDeadlineAfter(2, TimeUnit.SECONDS)
            .leaveHost(LeaveHostRequest.newBuilder().setHostId(host.getId()).build());
      } catch (RuntimeException e) {
        log.debug("scheduler {} did not take the leave: {}", endpoint.address(), e.getMessage());
      }
      endpoint.channel().shutdownNow();
    }
  }
}
