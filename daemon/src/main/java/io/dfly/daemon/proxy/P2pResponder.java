package io.dfly.daemon.proxy;

import io.dfly.api.common.v1.Download;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.net.ByteRange;
import io.dfly.common.task.TaskId;
import io.dfly.daemon.peer.InOrderReader;
import io.dfly.daemon.peer.PeerTaskException;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.daemon.storage.TaskStore;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a request from a P2P task: headers as soon as the content length is known, then the
 * bytes in order as their pieces are verified. For a registry blob the digest its URL names is
 * checked before the last bytes go out; on a mismatch the connection is cut, so the client
 * never receives a complete wrong blob, and the task is dropped from the store.
 */
final class P2pResponder {
  private static final Logger log = LoggerFactory.getLogger(P2pResponder.class);
  private static final int CHUNK = 1 << 20;

  private final TaskManager tasks;
  private final ProxyRules rules;

  P2pResponder(TaskManager tasks, ProxyRules rules) {
    this.tasks = tasks;
    this.rules = rules;
  }

  /**
   * Serves the request through P2P. Returns false, having sent nothing, when it cannot (a range
   * form the engine does not serve, a task that failed before its first byte): the caller then
   * passes the request to the origin, whose own answer (401, 404, ...) the client should see.
   */
  boolean serve(ProxiedRequest request, ChannelWriter out) throws InterruptedException, IOException {
    String rangeHeader = request.headers().get(HttpHeaderNames.RANGE);
    ByteRange wanted;
    try {
      wanted = rangeHeader == null ? null : ByteRange.parseWanted(rangeHeader);
    } catch (IllegalArgumentException suffixOrMultiple) {
      return false;
    }
    Download download = Download.newBuilder()
        .setUrl(request.url())
        .addAllFilteredQueryParams(rules.filteredQueryParams())
        .putAllHeaders(request.endToEndHeaders())
        .build();
    String taskId = TaskId.of(download);
    CompletableFuture<TaskStore> task;
    try {
      task = tasks.download(download, 0, wanted, true);
    } catch (IllegalArgumentException e) {
      log.info("{} cannot go through P2P ({}); passing it on", request.url(), e.getMessage());
      return false;
    }
    try (InOrderReader reader = new InOrderReader(tasks, taskId, task)) {
      long total;
      try {
        total = reader.awaitContentLength();
      } catch (PeerTaskException e) {
        log.warn("task {} for {} failed before its first byte ({}); passing the request on", taskId,
            request.url(), e.getMessage());
        return false;
      }
      ContentDigest digest = wanted == null ? ProxyRules.blobDigest(request.url()) : null;
      if (digest != null && total == 0 && !digest.algorithm().newHasher().hex().equals(digest.hex())) {
        rejectWrongContent(reader, out, taskId, digest); // checked before the headers: they would end the response
        return true;
      }
      if (wanted != null && wanted.first() >= total) {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE);
        response.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + total).set(HttpHeaderNames.CONTENT_LENGTH, 0);
        keepAliveHeader(response, request);
        out.write(response);
        out.write(LastHttpContent.EMPTY_LAST_CONTENT);
        return true;
      }
      ByteRange range = wanted == null ? null : new ByteRange(wanted.first(), Math.min(wanted.last(), total - 1));
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
          range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT);
      response.headers()
          .set(HttpHeaderNames.CONTENT_LENGTH, range == null ? total : range.length())
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
          .set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
      if (range != null) {
        response.headers().set(HttpHeaderNames.CONTENT_RANGE, range.contentRange(total));
      }
      ContentDigest named = ProxyRules.blobDigest(request.url());
      if (named != null) {
        response.headers().set("Docker-Content-Digest", named.toString());
      }
      keepAliveHeader(response, request);
      out.write(response);
      long first = range == null ? 0 : range.first();
      long end = range == null ? total : range.last() + 1;
      return send(reader, out, taskId, first, end, digest);
    }
  }

  private boolean send(InOrderReader reader, ChannelWriter out, String taskId, long first, long end,
      ContentDigest digest) throws InterruptedException, IOException {
    ContentDigest.Hasher hasher = digest == null ? null : digest.algorithm().newHasher();
    long position = first;
    try {
      while (position < end) {
        int want = (int) Math.min(CHUNK, end - position);
        ByteBuf buffer = out.channel().alloc().directBuffer(want);
        int n;
        try {
          long ready = reader.awaitReadable(position, end);
          n = buffer.writeBytes(reader.data(), position, (int) Math.min(want, ready - position));
          if (n <= 0) {
            throw new IOException("short read of task " + taskId + " at " + position);
          }
          if (hasher != null) {
            hasher.update(buffer.nioBuffer());
          }
        } catch (IOException | InterruptedException | RuntimeException e) {
          buffer.release();
          throw e;
        }
        position += n;
        if (position == end && hasher != null && !hasher.hex().equals(digest.hex())) {
          buffer.release();
          rejectWrongContent(reader, out, taskId, digest);
          return true;
        }
        out.write(new DefaultHttpContent(buffer));
      }
      out.write(LastHttpContent.EMPTY_LAST_CONTENT);
      out.finish();
      log.info("served {} bytes of task {} through P2P{}", end - first, taskId, digest == null ? "" : ", " + digest + " checked");
    } catch (PeerTaskException e) {
      log.warn("task {} failed after {} of {} bytes were sent ({}); cutting the response", taskId,
          position - first, end - first, e.getMessage());
      out.abort();
    }
    return true;
  }

  private void rejectWrongContent(InOrderReader reader, ChannelWriter out, String taskId, ContentDigest digest)
      throws InterruptedException, IOException {
    log.error("task {}: content does not have the digest {} its URL names; task dropped, response cut",
        taskId, digest);
    try {
      reader.join();
    } catch (PeerTaskException ended) {
      // it failed anyway; its files go all the same
    } finally {
      // gone before the client hears of it, so that its retry fetches the blob again
      tasks.pieceStore().remove(taskId);
      out.abort();
    }
  }

  private static void keepAliveHeader(HttpResponse response, ProxiedRequest request) {
    if (!request.keepAlive()) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }
}
