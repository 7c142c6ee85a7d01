package io.dfly.daemon.upload;

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
 */
public final class UploadServer implements AutoCloseable {
  private final EventLoopGroup boss = new NioEventLoopGroup(1);
  private final EventLoopGroup workers = new NioEventLoopGroup(2);
  private final Channel channel;

  public UploadServer(String ip, int port, PieceStore store) throws InterruptedException {
    channel = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(8 * 1024))
                .addLast(new PieceRequestHandler(store));
          }
        })
        .bind(new InetSocketAddress(ip, port))
        .sync()
        .channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    boss.shutdownGracefully();
    workers.shutdownGracefully();
  }
}
