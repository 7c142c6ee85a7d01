package io.dfly.source.http;

import io.dfly.source.SourceClient;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * http and https origins. Plain http goes through {@link BulkHttpClient} (bodies straight into
 * direct buffers); https through the JDK's client, trusting the system's CAs plus any given in
 * {@link SourceOptions.Tls}. Redirects are followed either way, also from http to https.
 */
public final class HttpSourceClient implements SourceClient {
  private static final int MAX_REDIRECTS = 10;

  private final BulkHttpClient plain = new BulkHttpClient(Duration.ofSeconds(10), Duration.ofSeconds(30));
  private volatile HttpClient tls = jdkClient(null);

  @Override
  public Set<String> schemes() {
    return Set.of("http", "https");
  }

  @Override
  public void configure(SourceOptions options) {
    if (!options.tls.caCerts.isEmpty()) {
      tls = jdkClient(sslContext(options.tls.caCerts));
    }
  }

  @Override
  public SourceResponse open(SourceRequest request) throws SourceException {
    Map<String, String> headers = new HashMap<>(request.headers());
    if (request.range() != null) {
      headers.put("Range", request.range().header());
    }
    URI url = request.url();
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (url.getScheme().equalsIgnoreCase("https")) {
        return openTls(request, url, headers);
      }
      BulkHttpClient.Response response;
      try {
        response = plain.get(url, headers);
      } catch (IOException e) {
        throw failure(url, e);
      }
      int status = response.status();
      if (isRedirect(status) && response.header("location") != null) {
        response.close();
        url = url.resolve(response.header("location"));
        continue;
      }
      String contentRange = response.header("content-range");
      return accept(request, url, status, response.contentLength(),
          contentRange == null ? "" : contentRange, response, response::close);
    }
    throw new SourceException("origin " + authority(request.url()) + " redirected more than "
        + MAX_REDIRECTS + " times", 0);
  }

  private SourceResponse openTls(SourceRequest request, URI url, Map<String, String> headers)
      throws SourceException {
    HttpRequest.Builder builder = HttpRequest.newBuilder(url).timeout(request.timeout()).GET();
    headers.forEach(builder::header);
    HttpResponse<InputStream> response;
    try {
      response = tls.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw failure(url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while contacting " + authority(url), e);
    }
    InputStream body = response.body();
    return accept(request, url, response.statusCode(),
        response.headers().firstValueAsLong("Content-Length").orElse(-1),
        response.headers().firstValue("Content-Range").orElse(""),
        java.nio.channels.Channels.newChannel(body), body::close);
  }

  private interface Closer {
    void close() throws IOException;
  }

  private static SourceResponse accept(SourceRequest request, URI url, int status, long contentLength,
      String contentRange, java.nio.channels.ReadableByteChannel body, Closer closer) throws SourceException {
    if (status == 206 && request.range() != null) {
      return new SourceResponse(totalFromContentRange(contentRange), true, body);
    }
    if (status == 200) {
      return new SourceResponse(contentLength, false, body);
    }
    try {
      closer.close();
    } catch (IOException ignored) {
      // the connection is dropped either way
    }
    if (status == 416) {
      throw new SourceException("origin refused range " + request.range().header() + " of " + url
          + " (HTTP 416)", status);
    }
    throw new SourceException("origin returned HTTP " + status + " for " + url, status);
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  private static SourceException failure(URI url, IOException e) {
    String origin = authority(url);
    if (e instanceof HttpTimeoutException || e instanceof java.net.SocketTimeoutException) {
      return new SourceException("origin " + origin + " timed out", e);
    }
    if (e instanceof ConnectException) {
      return new SourceException("origin " + origin + " is unreachable: connection refused", e);
    }
    if (e instanceof UnknownHostException) {
      return new SourceException("origin " + origin + " is unreachable: unknown host", e);
    }
    if (e instanceof SSLHandshakeException) {
      return new SourceException("TLS to " + origin + " failed: " + describe(e)
          + " (trust its CA with source.tls.ca-certs)", e);
    }
    return new SourceException("origin " + origin + " failed: " + describe(e), e);
  }

  /** Total length from {@code Content-Range: bytes a-b/total}; -1 when it is {@code *}. */
  static long totalFromContentRange(String header) {
    int slash = header.lastIndexOf('/');
    if (slash < 0) {
      return -1;
    }
    try {
      return Long.parseLong(header.substring(slash + 1).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static HttpClient jdkClient(SSLContext context) {
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NORMAL)
        .connectTimeout(Duration.ofSeconds(10));
    if (context != null) {
      builder.sslContext(context);
    }
    return builder.build();
  }

  /** The system's trusted CAs plus the certificates in the given PEM files. */
  public static SSLContext sslContext(Iterable<String> pemFiles) {
    try {
      KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
      trusted.load(null, null);
      TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      system.init((KeyStore) null);
      int n = 0;
      for (var manager : system.getTrustManagers()) {
        if (manager instanceof X509TrustManager x509) {
          for (X509Certificate ca : x509.getAcceptedIssuers()) {
            trusted.setCertificateEntry("system-" + n++, ca);
          }
        }
      }
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (String file : pemFiles) {
        try (InputStream in = Files.newInputStream(Path.of(file))) {
          var certificates = factory.generateCertificates(in);
          if (certificates.isEmpty()) {
            throw new IllegalArgumentException("CA file " + file + " holds no certificate");
          }
          for (Certificate certificate : certificates) {
            trusted.setCertificateEntry("given-" + n++, certificate);
          }
        } catch (IOException e) {
          throw new IllegalArgumentException("cannot read CA file " + file + ": " + e.getMessage());
        } catch (java.security.cert.CertificateException e) {
          throw new IllegalArgumentException("CA file " + file + " is not PEM certificates: " + e.getMessage());
        }
      }
      TrustManagerFactory factoryWithGiven = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factoryWithGiven.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factoryWithGiven.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot set up TLS trust: " + e.getMessage(), e);
    }
  }

  private static String authority(URI url) {
    return url.getScheme().toLowerCase(Locale.ROOT) + "://" + url.getRawAuthority();
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null ? root.getClass().getSimpleName() : message;
  }
}
