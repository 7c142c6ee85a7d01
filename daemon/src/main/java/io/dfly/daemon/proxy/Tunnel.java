package io.dfly.daemon.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The byte relay of a CONNECT tunnel: what one side sends goes to the other, read only as fast
 * as the other side takes it; when either side closes, so does the other.
 */
final class Tunnel extends ChannelInboundHandlerAdapter {
  private final Channel peer;

  private Tunnel(Channel peer) {
    this.peer = peer;
  }

  /** Connects to the target on the client's event loop; the future's channel is not reading yet. */
  static io.netty.channel.ChannelFuture connect(Channel client, String host, int port) {
    return new Bootstrap()
        .group(client.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .handler(new ChannelInboundHandlerAdapter())
        .connect(host, port);
  }

  /** Joins two connected channels, which must not be reading yet, and starts the relay. */
  static void join(Channel client, Channel target) {
    client.pipeline().addLast("tunnel", new Tunnel(target));
    target.pipeline().addLast("tunnel", new Tunnel(client));
    client.config().setAutoRead(false);
    client.read();
    target.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object message) {
    peer.writeAndFlush(message).addListener((ChannelFutureListener) written -> {
      if (written.isSuccess()) {
        ctx.channel().read();
      } else {
        written.channel().close();
        ctx.channel().close();
      }
    });
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (peer.isActive()) {
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
