package io.dfly.daemon.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** One client request, with the absolute URL it is for once the proxy resolved it. */
record ProxiedRequest(String method, String url, HttpHeaders headers, byte[] body, boolean keepAlive) {
  /** Headers that concern one connection, or the proxy itself, and are never passed on. */
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authorization",
      "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
      "content-length", "expect");

  static boolean isHopByHop(String name) {
    return HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT));
  }

  /**
   * The headers an origin needs to answer for the client (its Authorization, for one), without
   * the range: a P2P task fetches whole pieces.
   */
  Map<String, String> endToEndHeaders() {
    Map<String, String> kept = new LinkedHashMap<>();
    for (Map.Entry<String, String> header : headers) {
      String name = header.getKey();
      if (!isHopByHop(name) && !name.equalsIgnoreCase(HttpHeaderNames.RANGE.toString())
          && !name.equalsIgnoreCase(HttpHeaderNames.ACCEPT_ENCODING.toString())) {
        kept.merge(name, header.getValue(), (a, b) -> a + ", " + b);
      }
    }
    return kept;
  }
}
