package io.dfly.daemon.proxy;

import io.dfly.common.digest.ContentDigest;
import io.dfly.common.task.TaskId;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The proxy's decisions, from its configuration: which requests go through P2P, which hosts
 * may be reached, which registry a mirror request goes to, and who may use the proxy at all.
 */
final class ProxyRules {
  private static final Pattern BLOB_DIGEST = Pattern.compile("/blobs/(sha256:[0-9a-f]{64})(?:$|\\?)");
  private static final String DOCKER_HUB = "docker.io";
  private static final URI DOCKER_HUB_API = URI.create("https://registry-1.docker.io");

  private final List<Pattern> p2pRules;
  private final List<Pattern> allowedHosts;
  private final List<Pattern> interceptedHosts;
  private final boolean intercept;
  private final List<String> filteredQueryParams;
  private final URI mirror;
  private final boolean followNs;
  private final byte[] expectedAuthorization;

  ProxyRules(ProxyConfig config) {
    p2pRules = compile("proxy.rules", config.rules);
    allowedHosts = compile("proxy.allowed-hosts", config.allowedHosts);
    interceptedHosts = compile("proxy.https-interception.hosts", config.httpsInterception.hosts);
    intercept = config.httpsInterception.enabled;
    filteredQueryParams = List.copyOf(config.filteredQueryParams);
    mirror = parseMirror(config.registryMirror.url);
    followNs = config.registryMirror.followNs;
    expectedAuthorization = config.basicAuth == null ? null
        : ("Basic " + Base64.getEncoder().encodeToString((config.basicAuth.username + ":"
            + config.basicAuth.password).getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8);
  }

  private static List<Pattern> compile(String key, List<String> regexes) {
    try {
      return regexes.stream().map(Pattern::compile).toList();
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(key + ": '" + e.getPattern() + "' is not a regular expression: "
          + e.getDescription(), e);
    }
  }

  private static URI parseMirror(String url) {
    try {
      URI uri = new URI(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new URISyntaxException(url, "not an http or https URL");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("proxy.registry-mirror.url: " + e.getMessage(), e);
    }
  }

  /** True for a request to fetch through P2P rather than straight from the origin. */
  boolean viaP2p(String method, String url) {
    if (!method.equals("GET")) {
      return false;
    }
    for (Pattern rule : p2pRules) {
      if (rule.matcher(url).find()) {
        return true;
      }
    }
    return false;
  }

  /** The digest a registry blob URL names, which its content must have; null for other URLs. */
  static ContentDigest blobDigest(String url) {
    Matcher m = BLOB_DIGEST.matcher(url);
    return m.find() ? ContentDigest.parse(m.group(1)) : null;
  }

  /** True when the proxy may connect to {@code host:port} for a client. */
  boolean allowed(String host, int port) {
    if (allowedHosts.isEmpty()) {
      return true;
    }
    String authority = host + ":" + port;
    return allowedHosts.stream().anyMatch(p -> p.matcher(host).matches() || p.matcher(authority).matches());
  }

  /** True when the tunnel to {@code host:port} is to be decrypted and its requests served by the proxy. */
  boolean intercepts(String host, int port) {
    String authority = host + ":" + port;
    return intercept && interceptedHosts.stream()
        .anyMatch(p -> p.matcher(host).matches() || p.matcher(authority).matches());
  }

  List<String> filteredQueryParams() {
    return filteredQueryParams;
  }

  /**
   * The upstream URL of a mirror request ({@code /v2/...} sent to dfdaemon as a registry):
   * the registry containerd names in {@code ns}, or the configured one; {@code ns} itself is
   * not passed on.
   */
  String mirrorTarget(String originFormUri, String ns) {
    URI registry = mirror;
    if (followNs && ns != null && !ns.isBlank() && !ns.equals(mirror.getRawAuthority())) {
      registry = ns.equals(DOCKER_HUB) ? DOCKER_HUB_API : URI.create("https://" + ns);
      if (registry.getHost() == null) {
        throw new IllegalArgumentException("ns=" + ns + " is not a registry host");
      }
    }
    return TaskId.filterQuery(registry + originFormUri, List.of("ns"));
  }

  /** True when the request may use the proxy: no credentials are configured, or it carries them. */
  boolean authorized(String proxyAuthorization) {
    if (expectedAuthorization == null) {
      return true;
    }
    return proxyAuthorization != null
        && MessageDigest.isEqual(expectedAuthorization, proxyAuthorization.trim().getBytes(StandardCharsets.UTF_8));
  }
}
