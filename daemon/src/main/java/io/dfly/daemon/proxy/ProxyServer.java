package io.dfly.daemon.proxy;

import io.dfly.daemon.peer.TaskManager;
import io.dfly.source.SourceOptions;
import io.dfly.source.http.HttpSourceClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * dfdaemon's HTTP proxy and registry mirror: container runtimes pull through it, registry
 * blobs (or whatever {@code proxy.rules} match) come through P2P, everything else straight
 * from the origin.
 */
public final class ProxyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
  static final String HTTP_CODEC = "http";
  static final String AGGREGATOR = "aggregator";
  static final String HANDLER = "proxy";
  /** Request bodies are read whole before they go on; registry pulls send none. */
  private static final int MAX_REQUEST_BODY = 64 << 20;

  private final ProxyRules rules;
  private final P2pResponder p2p;
  private final Passthrough passthrough;
  private final HttpsInterceptor interception;
  private final EventLoopGroup group = new NioEventLoopGroup(2,
      Thread.ofPlatform().daemon().name("proxy-io-", 0).factory());
  private final Channel channel;

  private ProxyServer(ProxyConfig config, SourceOptions.Tls upstreamTls, TaskManager tasks, Path dataDir)
      throws IOException {
    InetAddress listen = InetAddress.getByName(config.listen);
    if (!listen.isLoopbackAddress() && config.basicAuth == null) {
      throw new IllegalArgumentException("proxy.listen " + config.listen + " is reachable from other hosts: "
          + "set proxy.basic-auth, or keep the proxy on loopback");
    }
    rules = new ProxyRules(config);
    p2p = new P2pResponder(tasks, rules);
    passthrough = new Passthrough(upstreamTls.caCerts.isEmpty() ? null : HttpSourceClient.sslContext(upstreamTls.caCerts));
    interception = config.httpsInterception.enabled
        ? HttpsInterceptor.load(config.httpsInterception, dataDir.resolve("proxy-ca")) : null;
    try {
      channel = new ServerBootstrap()
          .group(group)
          .channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              addHttpHandlers(ch.pipeline(), null);
            }
          })
          .bind(new InetSocketAddress(listen, config.port))
          .sync()
          .channel();
    } catch (Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      passthrough.close();
      throw new IOException("proxy cannot listen on " + config.listen + ":" + config.port + ": " + e.getMessage(), e);
    }
    log.info("proxy and registry mirror on {}:{} (mirror of {}{})", config.listen, port(),
        config.registryMirror.url, interception == null ? "" : ", https interception, CA " + interception.caCertificate());
  }

  /**
   * Starts the proxy; fails with a clear message on a bad configuration or a port in use.
   * {@code upstreamTls} is what origins are trusted by (dfdaemon's {@code source.tls}).
   */
  public static ProxyServer start(ProxyConfig config, SourceOptions.Tls upstreamTls, TaskManager tasks, Path dataDir)
      throws IOException {
    return new ProxyServer(config, upstreamTls, tasks, dataDir);
  }

  void addHttpHandlers(ChannelPipeline pipeline, String interceptedAuthority) {
    pipeline.addLast(HTTP_CODEC, new HttpServerCodec());
    pipeline.addLast(AGGREGATOR, new HttpObjectAggregator(MAX_REQUEST_BODY));
    pipeline.addLast(HANDLER, new ProxyHandler(this, interceptedAuthority));
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  ProxyRules rules() {
    return rules;
  }

  P2pResponder p2p() {
    return p2p;
  }

  Passthrough passthrough() {
    return passthrough;
  }

  HttpsInterceptor interception() {
    return interception;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    passthrough.close();
  }
}
