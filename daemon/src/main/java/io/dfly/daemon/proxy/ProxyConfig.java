package io.dfly.daemon.proxy;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code proxy:} section of dfdaemon's configuration: the HTTP proxy and registry mirror
 * that container runtimes pull through.
 */
public class ProxyConfig {
  /** Off: no proxy port at all; the rest of dfdaemon does not depend on it. */
  public boolean enabled = true;
  /** Loopback unless an operator opens it; any other address needs {@link #basicAuth}. */
  public String listen = "127.0.0.1";
  public int port = 65001;
  /**
   * Regular expressions searched in the full request URL; a GET that matches is fetched through
   * P2P, anything else goes straight to its origin. The default matches registry blob downloads.
   */
  public List<String> rules = new ArrayList<>(List.of("/v2/.+/blobs/sha256:[0-9a-f]{64}"));
  /** Query parameters left out of task ids, so that signed URLs of one blob share a task. */
  public List<String> filteredQueryParams = new ArrayList<>(List.of("Expires", "Signature", "ns",
      "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
      "X-Amz-Signature", "X-Amz-Security-Token"));
  /**
   * Hosts (regular expressions over {@code host} or {@code host:port}) that proxy requests,
   * CONNECT tunnels and mirror upstreams may reach; empty: any.
   */
  public List<String> allowedHosts = new ArrayList<>();
  /** When set, every request needs {@code Proxy-Authorization: Basic} with these credentials. */
  public BasicAuth basicAuth;
  public RegistryMirror registryMirror = new RegistryMirror();
  public HttpsInterception httpsInterception = new HttpsInterception();

  /** Credentials a client must present in {@code Proxy-Authorization}. */
  public static class BasicAuth {
    public String username = "";
    public String password = "";
  }

  /** What origin-form requests ({@code GET /v2/...}, dfdaemon named as a mirror) go to. */
  public static class RegistryMirror {
    /** The registry behind the mirror when a request names none (Docker's registry-mirrors). */
    public String url = "https://registry-1.docker.io";
    /**
     * Follow containerd's {@code ?ns=HOST} to the registry it names (https, or {@link #url}'s
     * scheme when HOST is {@link #url}'s host); off: every request goes to {@link #url}.
     */
    public boolean followNs = true;
  }

  /** Decrypting CONNECT tunnels so that blobs from https registries go through P2P too. */
  public static class HttpsInterception {
    public boolean enabled;
    /** Hosts (regular expressions over {@code host} or {@code host:port}) whose tunnels are decrypted; the others stay opaque. */
    public List<String> hosts = new ArrayList<>(List.of(".*"));
    /**
     * CA certificate and key (PEM files) that sign the per-host certificates; empty: dfdaemon
     * makes a CA in its data directory on first use and keeps it.
     */
    public String caCert = "";
    public String caKey = "";
  }
}
