package io.dfly.source.http;

import io.dfly.source.SourceClient;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/** http and https origins, through the JDK's HTTP client (redirects followed, system CAs). */
public final class HttpSourceClient implements SourceClient {
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NORMAL)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  @Override
  public Set<String> schemes() {
    return Set.of("http", "https");
  }

  @Override
  public SourceResponse open(SourceRequest request) throws SourceException {
    HttpRequest.Builder builder = HttpRequest.newBuilder(request.url())
        .timeout(request.timeout())
        .GET();
    for (Map.Entry<String, String> header : request.headers().entrySet()) {
      builder.header(header.getKey(), header.getValue());
    }
    if (request.range() != null) {
      builder.header("Range", request.range().header());
    }
    HttpResponse<InputStream> response;
    try {
      response = client.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (HttpTimeoutException e) {
      throw new SourceException("origin " + authority(request) + " timed out", e);
    } catch (ConnectException e) {
      throw new SourceException("origin " + authority(request) + " is unreachable: connection refused", e);
    } catch (IOException e) {
      throw new SourceException("origin " + authority(request) + " failed: " + describe(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while contacting " + authority(request), e);
    }
    int status = response.statusCode();
    if (status == 206 && request.range() != null) {
      long total = totalFromContentRange(response.headers().firstValue("Content-Range").orElse(""));
      return SourceResponse.of(total, true, response.body());
    }
    if (status == 200) {
      OptionalLong length = response.headers().firstValueAsLong("Content-Length");
      return SourceResponse.of(length.orElse(-1), false, response.body());
    }
    closeQuietly(response.body());
    if (status == 416) {
      throw new SourceException("origin refused range " + request.range().header()
          + " of " + request.url() + " (HTTP 416)", status);
    }
    throw new SourceException("origin returned HTTP " + status + " for " + request.url(), status);
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

  private static String authority(SourceRequest request) {
    return request.url().getScheme() + "://" + request.url().getRawAuthority();
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null ? root.getClass().getSimpleName() : message;
  }

  private static void closeQuietly(InputStream body) {
    try {
      body.close();
    } catch (IOException ignored) {
      // nothing to read from it
    }
  }
}
