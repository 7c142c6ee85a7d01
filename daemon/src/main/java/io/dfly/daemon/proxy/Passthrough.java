package io.dfly.daemon.proxy;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes a request to its origin unchanged and streams the answer back as it is: status,
 * headers (a registry's WWW-Authenticate challenge, its redirects) and body. The client's own
 * headers, Authorization included, go to the origin as they came.
 */
final class Passthrough implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Passthrough.class);
  private static final int CHUNK = 64 << 10;

  private final HttpClient client;

  /** {@code tls}: trust for https origins beyond the system's CAs; null for the system's alone. */
  Passthrough(SSLContext tls) {
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER) // the client follows them, maybe back through us
        .connectTimeout(Duration.ofSeconds(10))
        .executor(Executors.newVirtualThreadPerTaskExecutor());
    if (tls != null) {
      builder.sslContext(tls);
    }
    client = builder.build();
  }

  void forward(ProxiedRequest request, ChannelWriter out) throws IOException, InterruptedException {
    HttpRequest.Builder upstream = HttpRequest.newBuilder(URI.create(request.url()))
        .method(request.method(), request.body().length == 0 ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(request.body()));
    for (Map.Entry<String, String> header : request.headers()) {
      if (!ProxiedRequest.isHopByHop(header.getKey())) {
        try {
          upstream.header(header.getKey(), header.getValue());
        } catch (IllegalArgumentException restricted) {
          // a header the JDK client sets itself (Date, Via, ...): the origin gets its own
        }
      }
    }
    java.net.http.HttpResponse<InputStream> answer;
    try {
      answer = client.send(upstream.build(), BodyHandlers.ofInputStream());
    } catch (IOException e) {
      log.info("{} {}: origin unreachable: {}", request.method(), request.url(), e.toString());
      out.write(status(HttpResponseStatus.BAD_GATEWAY, "dfdaemon proxy: cannot reach " + URI.create(request.url()).getAuthority()
          + ": " + e.getMessage(), request.keepAlive()));
      out.finish();
      return;
    }
    try (InputStream body = answer.body()) {
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(answer.statusCode()));
      for (Map.Entry<String, List<String>> header : answer.headers().map().entrySet()) {
        if (!ProxiedRequest.isHopByHop(header.getKey()) || header.getKey().equalsIgnoreCase("content-length")) {
          response.headers().add(header.getKey(), header.getValue());
        }
      }
      boolean bodyless = request.method().equals("HEAD") || answer.statusCode() == 204 || answer.statusCode() == 304;
      if (!bodyless && !response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
        HttpUtil.setTransferEncodingChunked(response, true);
      }
      if (!request.keepAlive()) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      out.write(response);
      byte[] chunk = new byte[CHUNK];
      int n;
      while (!bodyless && (n = body.read(chunk)) > 0) {
        out.write(new DefaultHttpContent(Unpooled.copiedBuffer(chunk, 0, n)));
      }
      out.write(LastHttpContent.EMPTY_LAST_CONTENT);
      out.finish();
    } catch (IOException e) {
      if (!(e instanceof ChannelWriter.ClientGoneException)) {
        log.info("{} {}: the origin's answer broke off: {}", request.method(), request.url(), e.toString());
      }
      out.abort(); // the client must not take a cut body for a whole one
    }
  }

  /** A short plain-text answer of the proxy's own. */
  static FullHttpResponse status(HttpResponseStatus status, String message, boolean keepAlive) {
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    if (!keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }

  @Override
  public void close() {
    client.shutdownNow();
  }
}
