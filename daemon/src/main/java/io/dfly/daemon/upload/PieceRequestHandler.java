package io.dfly.daemon.upload;

import io.dfly.common.auth.ClusterToken;
import io.dfly.common.net.ByteRange;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
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
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Answers range reads of a task's data on one connection, only over pieces this host has
 * verified, within the host's upload rate and concurrency cap.
 */
final class PieceRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final String PREFIX = "/tasks/";
  private static final String SUFFIX = "/data";
  /** Largest write of a rate-limited upload. */
  private static final long MAX_CHUNK = 256 * 1024;
  /** Smallest write of a rate-limited upload, so that very low rates do not mean tiny writes. */
  private static final long MIN_CHUNK = 16 * 1024;
  /** Uploads are short, so a refused peer may come back soon (or try another parent). */
  private static final String RETRY_AFTER_SECONDS = "1";

  private final PieceStore store;
  private final UploadGate gate;
  private final UploadServer.UploadListener listener;
  private final ClusterToken token;
  /** Done when the response being written is complete; a pipelined request waits for it. */
  private ChannelFuture responding;
  /** This connection's latest rate-limited upload, ended early if the connection dies. */
  private PacedUpload paced;

  PieceRequestHandler(PieceStore store, UploadGate gate, UploadServer.UploadListener listener, ClusterToken token) {
    this.listener = listener;
    this.token = token;
    this.store = store;
    this.gate = gate;
  }

  private record Request(HttpMethod method, String path, String range, String authorization, boolean keepAlive) {}

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    Request read = new Request(request.method(), request.uri(), request.headers().get(HttpHeaderNames.RANGE),
        request.headers().get(HttpHeaderNames.AUTHORIZATION), HttpUtil.isKeepAlive(request));
    if (responding == null || responding.isDone()) {
      responding = respond(ctx, read);
    } else {
      ChannelPromise next = ctx.newPromise();
      responding.addListener(previous -> respond(ctx, read).addListener(done -> next.trySuccess()));
      responding = next;
    }
  }

  private ChannelFuture respond(ChannelHandlerContext ctx, Request request) {
    ChannelFuture done = answer(ctx, request);
    if (!request.keepAlive()) {
      done.addListener(ChannelFutureListener.CLOSE);
    }
    return done;
  }

  private ChannelFuture answer(ChannelHandlerContext ctx, Request request) {
    boolean keepAlive = request.keepAlive();
    String path = request.path();
    if (!token.accepts(request.authorization())) {
      return reply(ctx, HttpResponseStatus.UNAUTHORIZED, "missing or wrong cluster token", keepAlive);
    }
    if (request.method() != HttpMethod.GET || !path.startsWith(PREFIX) || !path.endsWith(SUFFIX)) {
      return reply(ctx, HttpResponseStatus.NOT_FOUND, "no such resource", keepAlive);
    }
    TaskStore task = store.find(path.substring(PREFIX.length(), path.length() - SUFFIX.length()));
    if (task == null) {
      return reply(ctx, HttpResponseStatus.NOT_FOUND, "task not here", keepAlive);
    }
    long total = task.contentLength();
    ByteRange range;
    try {
      range = ByteRange.parse(request.range(), total >= 0 ? total : Long.MAX_VALUE);
    } catch (ByteRange.UnsatisfiableRangeException e) {
      return reply(ctx, HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage(), keepAlive);
    }
    if (range == null) {
      return reply(ctx, HttpResponseStatus.BAD_REQUEST, "a Range header is required", keepAlive);
    }
    if (!task.hasRange(range.first(), range.last())) {
      return reply(ctx, HttpResponseStatus.NOT_FOUND, "range not available here yet", keepAlive);
    }
    if (!gate.tryStart()) {
      DefaultFullHttpResponse busy = plain(HttpResponseStatus.SERVICE_UNAVAILABLE,
          "this host is already serving " + gate.maxConcurrent + " uploads, retry later", keepAlive);
      busy.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
      return ctx.writeAndFlush(busy);
    }
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT);
    response.headers()
        .set(HttpHeaderNames.CONTENT_LENGTH, range.length())
        .set(HttpHeaderNames.CONTENT_RANGE, total >= 0 ? range.contentRange(total)
            : "bytes " + range.first() + "-" + range.last() + "/*");
    HttpUtil.setKeepAlive(response, keepAlive);
    ctx.write(response);
    File data = task.dataPath().toFile();
    // A store kept out of the page cache is read past it too, in chunks; sendfile would fill it.
    int alignment = task.directAlignment();
    boolean direct = alignment > 0 && range.first() % alignment == 0;
    if (gate.rate.isUnlimited() && !direct) {
      // Unlimited: the whole range in one sendfile. Closing the connection fails these writes,
      // so the slot is always given back.
      DefaultFileRegion region = new DefaultFileRegion(data, range.first(), range.length());
      ctx.write(region).addListener(written -> gate.countUploaded(region.transferred()));
      ChannelFuture done = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      done.addListener(last -> gate.finish());
      return tellListener(done, task.taskId(), range);
    }
    // The head goes out now, so the client does not wait on the first chunk to see it.
    ctx.flush();
    paced = new PacedUpload(ctx, task, data, direct ? alignment : 0, range.first(), range.last() + 1);
    paced.sendNext();
    return tellListener(paced.done, task.taskId(), range);
  }

  private ChannelFuture tellListener(ChannelFuture done, String taskId, ByteRange range) {
    done.addListener(sent -> {
      if (sent.isSuccess()) {
        listener.uploaded(taskId, range.first(), range.length());
      }
    });
    return done;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    // A paced upload waiting for its next chunk has no write pending that the close could fail.
    if (paced != null) {
      paced.finish(new ClosedChannelException());
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  private static ChannelFuture reply(ChannelHandlerContext ctx, HttpResponseStatus status, String message,
      boolean keepAlive) {
    return ctx.writeAndFlush(plain(status, message, keepAlive));
  }

  private static DefaultFullHttpResponse plain(HttpResponseStatus status, String message, boolean keepAlive) {
    DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    HttpUtil.setKeepAlive(response, keepAlive);
    return response;
  }

  /**
   * Sends a range chunk by chunk, drawing every chunk from the rate limiter first and scheduling
   * its write after the wait, so the event loop never waits on the limiter. The next chunk is
   * drawn only once the previous one is written. A chunk is a sendfile, or with direct I/O a
   * read past the page cache (a short blocking read on the event loop). Runs on the channel's
   * event loop.
   */
  private final class PacedUpload {
    final ChannelPromise done;
    private final ChannelHandlerContext ctx;
    private final TaskStore task;
    private final File data;
    /** Direct I/O block size, or 0 to send with sendfile. */
    private final int alignment;
    private final long end;
    private long position;
    private ScheduledFuture<?> waiting;
    private boolean finished;
    /** With no rate to draw from, the next direct read runs while the previous chunk is written. */
    private CompletableFuture<ByteBuffer> ahead;
    private long aheadAt;
    private long aheadLength;

    PacedUpload(ChannelHandlerContext ctx, TaskStore task, File data, int alignment, long first, long end) {
      this.ctx = ctx;
      this.task = task;
      this.data = data;
      this.alignment = alignment;
      this.position = first;
      this.end = end;
      this.done = ctx.newPromise();
    }

    void sendNext() {
      if (finished) {
        return;
      }
      if (!ctx.channel().isActive()) {
        finish(new ClosedChannelException());
        return;
      }
      long length = Math.min(chunkSize(), end - position);
      long wait = gate.rate.reserve(length);
      if (wait > 0) {
        waiting = ctx.executor().schedule(() -> write(length), wait, TimeUnit.NANOSECONDS);
      } else {
        write(length);
      }
    }

    private void write(long length) {
      long at = position;
      position += length;
      if (alignment == 0) {
        DefaultFileRegion region = new DefaultFileRegion(data, at, length);
        ChannelFuture sent = ctx.writeAndFlush(region);
        sent.addListener(written -> gate.countUploaded(region.transferred()));
        continueAfter(sent);
        return;
      }
      CompletableFuture<ByteBuffer> read;
      if (ahead != null && aheadAt == at && aheadLength == length) {
        read = ahead;
      } else {
        dropAhead();
        read = readDirect(at, length);
      }
      ahead = null;
      read.whenComplete((chunk, error) -> ctx.executor().execute(() -> {
        if (error != null) {
          ctx.close();
          finish(error);
        } else {
          sendRead(chunk, length);
        }
      }));
    }

    /** Reads on a virtual thread, so the event loop keeps serving other uploads meanwhile. */
    private CompletableFuture<ByteBuffer> readDirect(long at, long length) {
      CompletableFuture<ByteBuffer> read = new CompletableFuture<>();
      Thread.startVirtualThread(() -> {
        try {
          read.complete(task.readDirect(at, (int) length));
        } catch (IOException | RuntimeException e) {
          read.completeExceptionally(e);
        }
      });
      return read;
    }

    private void dropAhead() {
      if (ahead != null) {
        ahead.thenAccept(TaskStore::release);
        ahead = null;
      }
    }

    private void sendRead(ByteBuffer chunk, long length) {
      if (finished) {
        TaskStore.release(chunk);
        return;
      }
      ChannelFuture sent = ctx.writeAndFlush(Unpooled.wrappedBuffer(chunk));
      sent.addListener(written -> {
        // Written or failed, the socket is done with the chunk's memory.
        TaskStore.release(chunk);
        if (written.isSuccess()) {
          gate.countUploaded(length);
        }
      });
      if (gate.rate.isUnlimited() && position < end) {
        aheadAt = position;
        aheadLength = Math.min(chunkSize(), end - position);
        ahead = readDirect(aheadAt, aheadLength);
      }
      continueAfter(sent);
    }

    private void continueAfter(ChannelFuture sent) {
      sent.addListener(written -> {
        if (!written.isSuccess()) {
          // The client was promised the whole range: a short body must end the connection.
          ctx.close();
          finish(written.cause());
        } else if (position < end) {
          sendNext();
        } else {
          ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(last -> finish(last.cause()));
        }
      });
    }

    /** Ends this upload and frees its slot, once; a null cause means it completed. */
    void finish(Throwable cause) {
      if (finished) {
        return;
      }
      finished = true;
      if (waiting != null) {
        waiting.cancel(false);
      }
      dropAhead();
      gate.finish();
      if (cause == null) {
        done.setSuccess();
      } else {
        done.setFailure(cause);
      }
    }

    /**
     * About a tenth of a second of the rate, so a slow upload still shows steady progress; whole
     * blocks for direct reads, and the largest direct read when unlimited.
     */
    private long chunkSize() {
      long rate = gate.rate.rate();
      if (rate <= 0) {
        return alignment > 0 ? TaskStore.MAX_DIRECT_READ : MAX_CHUNK;
      }
      long size = Math.clamp(rate / 10, MIN_CHUNK, MAX_CHUNK);
      return alignment > 0 ? size - size % alignment : size;
    }
  }
}
