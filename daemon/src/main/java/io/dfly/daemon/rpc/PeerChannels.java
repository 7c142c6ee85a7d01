package io.dfly.daemon.rpc;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.ConcurrentHashMap;

/** One gRPC channel per other host, reused by every task that syncs pieces with it. */
public final class PeerChannels implements AutoCloseable {
  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  public ManagedChannel channel(String ip, int port) {
    return channels.computeIfAbsent(ip + ":" + port,
        key -> ManagedChannelBuilder.forAddress(ip, port).usePlaintext().build());
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
