package io.dfly.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** The source clients on the class path, by URL scheme. */
public final class SourceClients {
  private static final int MAX_PROVIDERS = 64;
  private final Map<String, SourceClient> byScheme = new HashMap<>();

  private SourceClients(SourceOptions options) {
    // A client whose libraries are not on this class path (dfget runs with only the jars it
    // needs) is not available; the others still are. After such an error the loader's iterator
    // goes on with the next provider.
    Iterator<SourceClient> providers = ServiceLoader.load(SourceClient.class).iterator();
    for (int tries = 0; tries < MAX_PROVIDERS; tries++) {
      SourceClient client;
      try {
        if (!providers.hasNext()) {
          break;
        }
        client = providers.next();
      } catch (ServiceConfigurationError | LinkageError e) {
        continue;
      }
      client.configure(options);
      for (String scheme : client.schemes()) {
        byScheme.putIfAbsent(scheme, client);
      }
    }
  }

  private static final class Holder {
    static final SourceClients DEFAULTS = new SourceClients(new SourceOptions());
  }

  /** The clients with default options (dfget without a daemon, URL checks). */
  public static SourceClients get() {
    return Holder.DEFAULTS;
  }

  /** Clients configured with the given options (a daemon's {@code source:} settings). */
  public static SourceClients create(SourceOptions options) {
    return new SourceClients(options);
  }

  /**
   * Parses and checks a URL; throws {@link IllegalArgumentException} with a one-line reason
   * when it is malformed or no client serves its scheme.
   */
  public URI checkUrl(String url) {
    URI uri = parse(url);
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    if (!byScheme.containsKey(scheme)) {
      throw new IllegalArgumentException("unsupported URL scheme '" + scheme + "' in '" + url
          + "' (supported: " + String.join(", ", new TreeSet<>(byScheme.keySet())) + ")");
    }
    return uri;
  }

  /**
   * Checks only the form of a URL, without loading any client: for callers such as dfget that
   * hand the URL to a daemon, which knows its own clients.
   */
  public static URI parse(String url) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("malformed URL '" + url + "': " + e.getReason());
    }
    if (uri.getScheme() == null) {
      throw new IllegalArgumentException("URL '" + url + "' has no scheme");
    }
    if (uri.getHost() == null && !uri.getScheme().equalsIgnoreCase("file")) {
      throw new IllegalArgumentException("URL '" + url + "' has no host");
    }
    return uri;
  }

  public SourceClient forUrl(URI url) {
    SourceClient client = byScheme.get(url.getScheme().toLowerCase(Locale.ROOT));
    if (client == null) {
      throw new IllegalArgumentException("unsupported URL scheme '" + url.getScheme() + "'");
    }
    return client;
  }
}
