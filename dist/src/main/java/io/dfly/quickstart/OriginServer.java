package io.dfly.quickstart;

import io.dfly.common.net.ByteRange;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A plain HTTP file origin on 127.0.0.1 for the quickstart and the end-to-end tests: serves the
 * files of one directory with single byte ranges, and counts the body bytes it sends so that a
 * run can show how much the origin paid.
 */
public final class OriginServer implements AutoCloseable {
  private final Path root;
  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final EventLoopGroup group = new NioEventLoopGroup(2);
  private final Channel channel;

  public OriginServer(Path root) throws InterruptedException {
    this(root, "127.0.0.1", 0);
  }

  /** Serves {@code root} on {@code host} at {@code port} (0: any free port). */
  public OriginServer(Path root, String host, int port) throws InterruptedException {
    this.root = root.toAbsolutePath().normalize();
    channel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192), new FileHandler());
          }
        })
        .bind(new InetSocketAddress(host, port))
        .sync()
        .channel();
  }

  public String url(String fileName) {
    InetSocketAddress address = (InetSocketAddress) channel.localAddress();
    return "http://" + address.getHostString() + ":" + address.getPort() + "/" + fileName;
  }

  /** Body bytes sent so far, over every request. */
  public long bytesSent() {
    return bytesSent.get();
  }

  public long requests() {
    return requests.get();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully();
  }

  private final class FileHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws Exception {
      requests.incrementAndGet();
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      String name = request.uri().replaceFirst("\\?.*", "");
      Path file = root.resolve(name.substring(1)).normalize();
      boolean head = request.method() == HttpMethod.HEAD;
      if (!(request.method() == HttpMethod.GET || head) || !file.startsWith(root) || !Files.isRegularFile(file)) {
        plain(ctx, HttpResponseStatus.NOT_FOUND, keepAlive);
        return;
      }
      long size = Files.size(file);
      ByteRange range;
      try {
        range = ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), size);
      } catch (ByteRange.UnsatisfiableRangeException e) {
        plain(ctx, HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, keepAlive);
        return;
      }
      long first = range == null ? 0 : range.first();
      long length = range == null ? size : range.length();
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
          range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT);
      response.headers().set(HttpHeaderNames.CONTENT_LENGTH, length)
          .set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
      if (range != null) {
        response.headers().set(HttpHeaderNames.CONTENT_RANGE, range.contentRange(size));
      }
      HttpUtil.setKeepAlive(response, keepAlive);
      ctx.write(response);
      if (!head && length > 0) {
        ctx.write(new DefaultFileRegion(file.toFile(), first, length))
            .addListener(f -> bytesSent.addAndGet(length));
      }
      var done = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      if (!keepAlive) {
        done.addListener(ChannelFutureListener.CLOSE);
      }
    }

    private void plain(ChannelHandlerContext ctx, HttpResponseStatus status, boolean keepAlive) {
      var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
      response.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
      HttpUtil.setKeepAlive(response, keepAlive);
      var done = ctx.writeAndFlush(response);
      if (!keepAlive) {
        done.addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
