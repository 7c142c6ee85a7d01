package io.dfly.scheduler.rpc;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Empty;
import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.dfdaemon.v1.DfdaemonPeerGrpc;
import io.dfly.api.dfdaemon.v1.TriggerDownloadRequest;
import io.dfly.scheduler.scheduling.SeedTrigger;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.dfly.common.auth.ClusterToken;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Triggers seed peers over their dfdaemon's gRPC service; one channel per seed host. */
public final class GrpcSeedTrigger implements SeedTrigger, AutoCloseable {
  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final ClusterToken token;

  /** Triggers carry {@code token}, which seed peers off loopback require. */
  public GrpcSeedTrigger(ClusterToken token) {
    this.token = token;
  }

  @Override
  public void prepare(Host seed) {
    channel(seed).getState(true); // connects now
  }

  private ManagedChannel channel(Host seed) {
    return channels.computeIfAbsent(seed.getIp() + ":" + seed.getGrpcPort(),
        key -> ManagedChannelBuilder.forAddress(seed.getIp(), seed.getGrpcPort()).usePlaintext()
            .intercept(token.clientInterceptor()).build());
  }

  @Override
  public CompletableFuture<Void> trigger(Host seed, String taskId, String peerId, Download download) {
    ManagedChannel channel = channel(seed);
    CompletableFuture<Void> done = new CompletableFuture<>();
    // Outside the context of the peer's call that led here: that call ending (the peer finished,
    // or left) must not cancel the trigger.
    Context outside = Context.current().fork();
    Context previous = outside.attach();
    ListenableFuture<Empty> call;
    try {
      call = DfdaemonPeerGrpc.newFutureStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .triggerDownload(TriggerDownloadRequest.newBuilder().setTaskId(taskId).setPeerId(peerId)
              .setDownload(download).build());
    } finally {
      outside.detach(previous);
    }
    Futures.addCallback(call,
        new FutureCallback<Empty>() {
          @Override
          public void onSuccess(Empty result) {
            done.complete(null);
          }

          @Override
          public void onFailure(Throwable t) {
            done.completeExceptionally(t);
          }
        }, MoreExecutors.directExecutor());
    return done;
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
