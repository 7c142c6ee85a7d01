package io.dfly.daemon.rpc;

import io.dfly.common.auth.ClusterToken;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How this host talks to other peers: one gRPC channel per other host, reused by every task that
 * syncs pieces with it, and the cluster token every call and piece read carries.
 */
public final class PeerChannels implements AutoCloseable {
  private final ConcurrentHashMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final ClusterToken token;

  public PeerChannels(ClusterToken token) {
    this.token = token;
  }

  /** The {@code Authorization} value for piece reads from other peers; null without a token. */
  public String authorization() {
    return token.headerValue();
  }

  public ManagedChannel channel(String ip, int port) {
    return channels.computeIfAbsent(ip + ":" + port,
        key -> ManagedChannelBuilder.forAddress(ip, port).usePlaintext().intercept(token.clientInterceptor()).build());
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
