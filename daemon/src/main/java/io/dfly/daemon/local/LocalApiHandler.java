package io.dfly.daemon.local;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One local API request per connection: checks the method and path, answers 200 and hands the
 * call to {@link LocalApiService} on a virtual thread, whose frames go out through this channel.
 */
final class LocalApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final LocalApiService service;

  LocalApiHandler(LocalApiService service) {
    this.service = service;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    String path = request.uri();
    if (!service.serves(path)) {
      reject(ctx, HttpResponseStatus.NOT_FOUND, "no such call: " + path);
      return;
    }
    if (!request.method().equals(HttpMethod.POST)) {
      reject(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "calls are POSTs of form fields");
      return;
    }
    Map<String, List<String>> fields = LocalApi.decode(request.content().toString(StandardCharsets.UTF_8));
    DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-dfly-frames")
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(head);
    ChannelFrames frames = new ChannelFrames(ctx.channel());
    Thread.ofVirtual().name("local-api " + path).start(() -> {
      try {
        service.call(path, fields, frames);
      } finally {
        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
      }
    });
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    synchronized (ctx.channel()) {
      ctx.channel().notifyAll();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    synchronized (ctx.channel()) {
      ctx.channel().notifyAll();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // the caller went away mid-answer; the call notices through Frames.isOpen
  }

  private static void reject(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
    DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes())
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  /** Frames written to a channel from a virtual thread, waiting while the reader lags behind. */
  private static final class ChannelFrames implements Frames {
    private final Channel channel;

    ChannelFrames(Channel channel) {
      this.channel = channel;
    }

    @Override
    public void progress(long completedLength, long contentLength) throws IOException {
      ByteBuf frame = header(LocalApi.PROGRESS, 16).writeLong(completedLength).writeLong(contentLength);
      send(frame);
    }

    @Override
    public void data(Path file, long position, long count) throws IOException, InterruptedException {
      for (long done = 0; done < count; ) {
        int n = (int) Math.min(LocalApi.MAX_FRAME, count - done);
        awaitWritable();
        channel.write(header(LocalApi.DATA, n));
        // sendfile straight from the piece store's data file
        send(new DefaultFileRegion(file.toFile(), position + done, n));
        done += n;
      }
    }

    @Override
    public void result(LocalApi.Form fields) throws IOException {
      text(LocalApi.RESULT, fields.toString());
    }

    @Override
    public void error(LocalApi.ErrorKind kind, String message) throws IOException {
      text(LocalApi.ERROR, new LocalApi.Form().add("kind", kind.wireName()).add("message", message).toString());
    }

    @Override
    public boolean isOpen() {
      return channel.isActive();
    }

    private void text(byte type, String text) throws IOException {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      send(header(type, bytes.length).writeBytes(bytes));
    }

    private ByteBuf header(byte type, int length) {
      return channel.alloc().buffer(5 + (type == LocalApi.DATA ? 0 : length)).writeByte(type).writeInt(length);
    }

    private void send(Object message) throws IOException {
      if (!channel.isActive()) {
        io.netty.util.ReferenceCountUtil.release(message);
        throw new ClosedChannelException();
      }
      channel.writeAndFlush(message);
    }

    private void awaitWritable() throws IOException, InterruptedException {
      synchronized (channel) {
        while (channel.isActive() && !channel.isWritable()) {
          channel.wait(100);
        }
      }
      if (!channel.isActive()) {
        throw new ClosedChannelException();
      }
    }
  }
}
