package io.dfly.daemon.proxy;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection. Each request is resolved to an absolute URL (proxy form, a registry
 * mirror request, or a request inside a decrypted tunnel) and answered on a virtual thread,
 * one at a time per connection, through P2P or straight from the origin; CONNECT turns the
 * connection into a tunnel.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ProxyHandler.class);
  static final String HEALTH_PATH = "/healthy";

  private final ProxyServer server;
  /** host:port of the decrypted tunnel this connection carries; null for a plain connection. */
  private final String interceptedAuthority;
  private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
  private boolean busy;

  ProxyHandler(ProxyServer server, String interceptedAuthority) {
    this.server = server;
    this.interceptedAuthority = interceptedAuthority;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object message) {
    if (!(message instanceof FullHttpRequest request)) {
      ReferenceCountUtil.release(message);
      return;
    }
    waiting.add(request);
    ctx.channel().config().setAutoRead(false);
    if (!busy) {
      next(ctx);
    }
  }

  /** Takes the next request in the event loop; reading resumes once none is left. */
  private void next(ChannelHandlerContext ctx) {
    FullHttpRequest request = waiting.poll();
    if (request == null) {
      busy = false;
      ctx.channel().config().setAutoRead(true);
      return;
    }
    busy = true;
    try {
      handle(ctx, request);
    } finally {
      request.release();
    }
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    if (request.decoderResult().isFailure()) {
      respond(ctx, Passthrough.status(HttpResponseStatus.BAD_REQUEST, "dfdaemon proxy: malformed request", false));
      return;
    }
    if (interceptedAuthority == null && request.uri().equals(HEALTH_PATH)) {
      respond(ctx, Passthrough.status(HttpResponseStatus.OK, "ok", keepAlive)); // health checks, nydusd's ping_url
      return;
    }
    ProxyRules rules = server.rules();
    if (interceptedAuthority == null && !rules.authorized(request.headers().get(HttpHeaderNames.PROXY_AUTHORIZATION))) {
      FullHttpResponse denied = Passthrough.status(HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED,
          "dfdaemon proxy: credentials required", keepAlive);
      denied.headers().set(HttpHeaderNames.PROXY_AUTHENTICATE, "Basic realm=\"dfdaemon\"");
      respond(ctx, denied);
      return;
    }
    if (request.method().equals(HttpMethod.CONNECT)) {
      connect(ctx, request.uri());
      return;
    }
    String url;
    URI target;
    try {
      url = absoluteUrl(request.uri());
      target = URI.create(url);
      if (target.getHost() == null) {
        throw new IllegalArgumentException("no host in " + url);
      }
    } catch (IllegalArgumentException e) {
      respond(ctx, Passthrough.status(HttpResponseStatus.BAD_REQUEST, "dfdaemon proxy: " + e.getMessage(), keepAlive));
      return;
    }
    int port = target.getPort() > 0 ? target.getPort() : "https".equals(target.getScheme()) ? 443 : 80;
    if (!rules.allowed(target.getHost(), port)) {
      respond(ctx, Passthrough.status(HttpResponseStatus.FORBIDDEN, "dfdaemon proxy: " + target.getHost() + ":" + port
          + " is not in proxy.allowed-hosts", keepAlive));
      return;
    }
    ProxiedRequest proxied = new ProxiedRequest(request.method().name(), url, request.headers().copy(),
        ByteBufUtil.getBytes(request.content()), keepAlive);
    Thread.ofVirtual().name("proxy-request").start(() -> exchange(ctx, proxied));
  }

  private String absoluteUrl(String uri) {
    if (interceptedAuthority != null) {
      return "https://" + interceptedAuthority + uri;
    }
    String lower = uri.toLowerCase(Locale.ROOT);
    if (lower.startsWith("http://") || lower.startsWith("https://")) {
      return uri;
    }
    if (uri.equals("/v2") || uri.startsWith("/v2/") || uri.startsWith("/v2?")) {
      List<String> ns = new QueryStringDecoder(uri).parameters().get("ns");
      return server.rules().mirrorTarget(uri, ns == null ? null : ns.getFirst());
    }
    throw new IllegalArgumentException("'" + uri + "' is neither a proxy request (absolute URL), a CONNECT"
        + " nor a registry request (/v2/...)");
  }

  private void exchange(ChannelHandlerContext ctx, ProxiedRequest request) {
    ChannelWriter out = new ChannelWriter(ctx.channel());
    try {
      boolean viaP2p = server.rules().viaP2p(request.method(), request.url()) && server.p2p().serve(request, out);
      if (!viaP2p) {
        server.passthrough().forward(request, out);
      }
      out.finish();
      if (request.keepAlive()) {
        ctx.executor().execute(() -> next(ctx));
        return;
      }
    } catch (ChannelWriter.ClientGoneException e) {
      log.debug("{}: {}", request.url(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("{} {} failed", request.method(), request.url(), e);
    }
    ctx.close();
  }

  private void connect(ChannelHandlerContext ctx, String authority) {
    URI parsed;
    try {
      parsed = URI.create("tunnel://" + authority);
      if (parsed.getHost() == null || parsed.getPort() < 0) {
        throw new IllegalArgumentException();
      }
    } catch (IllegalArgumentException e) {
      respond(ctx, Passthrough.status(HttpResponseStatus.BAD_REQUEST, "dfdaemon proxy: CONNECT needs host:port, not '"
          + authority + "'", false));
      return;
    }
    String host = parsed.getHost();
    int port = parsed.getPort();
    if (!server.rules().allowed(host, port)) {
      respond(ctx, Passthrough.status(HttpResponseStatus.FORBIDDEN, "dfdaemon proxy: " + host + ":" + port
          + " is not in proxy.allowed-hosts", false));
      return;
    }
    Channel client = ctx.channel();
    if (server.interception() != null && server.rules().intercepts(host, port)) {
      established(client).addListener((ChannelFutureListener) sent -> {
        ChannelPipeline pipeline = client.pipeline();
        removeHttp(pipeline);
        pipeline.addLast("tls", server.interception().serverHandler(client.alloc(), host));
        server.addHttpHandlers(pipeline, host + ":" + port);
        client.config().setAutoRead(true);
      });
      return;
    }
    Tunnel.connect(client, host, port).addListener((ChannelFutureListener) connected -> {
      if (!connected.isSuccess()) {
        respond(ctx, Passthrough.status(HttpResponseStatus.BAD_GATEWAY, "dfdaemon proxy: cannot reach " + host + ":"
            + port + ": " + connected.cause().getMessage(), false));
        return;
      }
      established(client).addListener((ChannelFutureListener) sent -> {
        removeHttp(client.pipeline());
        Tunnel.join(client, connected.channel());
      });
      client.closeFuture().addListener(closed -> connected.channel().close());
    });
  }

  private static io.netty.channel.ChannelFuture established(Channel client) {
    return client.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        new HttpResponseStatus(200, "Connection Established")));
  }

  private static void removeHttp(ChannelPipeline pipeline) {
    pipeline.remove(ProxyServer.HTTP_CODEC);
    pipeline.remove(ProxyServer.AGGREGATOR);
    pipeline.remove(ProxyServer.HANDLER);
  }

  /** Sends a whole response from the event loop, then goes on with the connection or closes it. */
  private void respond(ChannelHandlerContext ctx, FullHttpResponse response) {
    boolean close = "close".equalsIgnoreCase(response.headers().get(HttpHeaderNames.CONNECTION));
    if (close) {
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.writeAndFlush(response).addListener((ChannelFutureListener) sent -> next(ctx));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    waiting.forEach(ReferenceCountUtil::release);
    waiting.clear();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("proxy connection failed", cause);
    ctx.close();
  }
}
