package io.dfly.daemon.local;

import io.dfly.common.limit.RateLimiter;
import io.dfly.daemon.peer.TaskManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The daemon's {@link LocalApi} for dfget, dfcache and {@code dfdaemon limits}: HTTP/1.1 on
 * 127.0.0.1 only, since it writes files where callers ask and changes the host's limits.
 */
public final class LocalApiServer implements AutoCloseable {
  private static final int MAX_REQUEST = 1 << 20;

  private final EventLoopGroup group = new NioEventLoopGroup(1);
  private final Channel channel;

  public LocalApiServer(int port, TaskManager tasks, RateLimiter uploadRate, int maxConcurrentUploads)
      throws InterruptedException {
    LocalApiService service = new LocalApiService(tasks, uploadRate, maxConcurrentUploads);
    channel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(MAX_REQUEST))
                .addLast(new LocalApiHandler(service));
          }
        })
        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
        .sync()
        .channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully();
  }
}
