package io.dfly.daemon.upload;

import io.dfly.common.auth.ClusterToken;
import io.dfly.common.limit.RateLimiter;
import io.dfly.daemon.storage.PieceStore;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;

/**
 * Serves piece bytes to other peers: {@code GET /tasks/<task id>/data} with a byte range, sent
 * straight from the data file with {@code sendfile} (Netty's {@link io.netty.channel.FileRegion}).
 *
 * <p>All uploads share one {@link RateLimiter}; while it limits, ranges go out in chunks paced
 * by it. Beyond {@code maxConcurrentUploads} running uploads a request gets 503 with
 * {@code Retry-After}.
 */
public final class UploadServer implements AutoCloseable {
  private final EventLoopGroup boss = new NioEventLoopGroup(1);
  private final EventLoopGroup workers = new NioEventLoopGroup(2);
  private final UploadGate gate;
  private final Channel channel;

  /** Hears of every range uploaded in full, on the upload's event loop: keep it short. */
  @FunctionalInterface
  public interface UploadListener {
    UploadListener NONE = (taskId, first, length) -> { };

    void uploaded(String taskId, long first, long length);
  }

  /**
   * @param rate the host's total upload rate; change it at any time with {@link RateLimiter#setRate}
   * @param maxConcurrentUploads uploads served at once, at least 1
   * @param listener hears of each range uploaded in full
   * @param token the cluster token a request must carry (none set: any request is served)
   */
  public UploadServer(String ip, int port, PieceStore store, RateLimiter rate, int maxConcurrentUploads,
      UploadListener listener, ClusterToken token) throws InterruptedException {
    gate = new UploadGate(rate, maxConcurrentUploads);
    channel = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(8 * 1024))
                .addLast(new PieceRequestHandler(store, gate, listener, token));
          }
        })
        .bind(new InetSocketAddress(ip, port))
        .sync()
        .channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** Bytes written to peers since start, counting the written part of aborted uploads. */
  public long uploadedBytes() {
    return gate.uploaded();
  }

  /** Uploads in progress now. */
  public int activeUploads() {
    return gate.active();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    boss.shutdownGracefully();
    workers.shutdownGracefully();
  }
}
