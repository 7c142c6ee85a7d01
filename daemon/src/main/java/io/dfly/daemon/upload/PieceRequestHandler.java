package io.dfly.daemon.upload;

import io.dfly.common.net.ByteRange;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;

/** Answers one range read of a task's data, only over pieces this host has verified. */
final class PieceRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final String PREFIX = "/tasks/";
  private static final String SUFFIX = "/data";

  private final PieceStore store;

  PieceRequestHandler(PieceStore store) {
    this.store = store;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    String path = request.uri();
    if (request.method() != HttpMethod.GET || !path.startsWith(PREFIX) || !path.endsWith(SUFFIX)) {
      reply(ctx, HttpResponseStatus.NOT_FOUND, "no such resource", keepAlive);
      return;
    }
    TaskStore task = store.find(path.substring(PREFIX.length(), path.length() - SUFFIX.length()));
    if (task == null) {
      reply(ctx, HttpResponseStatus.NOT_FOUND, "task not here", keepAlive);
      return;
    }
    long total = task.contentLength();
    ByteRange range;
    try {
      range = ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), total >= 0 ? total : Long.MAX_VALUE);
    } catch (ByteRange.UnsatisfiableRangeException e) {
      reply(ctx, HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage(), keepAlive);
      return;
    }
    if (range == null) {
      reply(ctx, HttpResponseStatus.BAD_REQUEST, "a Range header is required", keepAlive);
      return;
    }
    if (!task.hasRange(range.first(), range.last())) {
      reply(ctx, HttpResponseStatus.NOT_FOUND, "range not available here yet", keepAlive);
      return;
    }
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT);
    response.headers()
        .set(HttpHeaderNames.CONTENT_LENGTH, range.length())
        .set(HttpHeaderNames.CONTENT_RANGE, total >= 0 ? range.contentRange(total)
            : "bytes " + range.first() + "-" + range.last() + "/*");
    HttpUtil.setKeepAlive(response, keepAlive);
    ctx.write(response);
    ctx.write(new DefaultFileRegion(task.dataPath().toFile(), range.first(), range.length()));
    ChannelFuture done = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    if (!keepAlive) {
      done.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private static void reply(ChannelHandlerContext ctx, HttpResponseStatus status, String message, boolean keepAlive) {
    DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    HttpUtil.setKeepAlive(response, keepAlive);
    ChannelFuture done = ctx.writeAndFlush(response);
    if (!keepAlive) {
      done.addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
