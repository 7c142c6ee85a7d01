package io.dfly.source;

import io.dfly.common.net.ByteRange;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * What to fetch from an origin.
 *
 * @param range inclusive byte range, or null for the whole content
 */
public record SourceRequest(URI url, Map<String, String> headers, ByteRange range, Duration timeout) {

  public SourceRequest {
    headers = Map.copyOf(headers);
  }

  public static SourceRequest whole(URI url, Map<String, String> headers) {
    return new SourceRequest(url, headers, null, Duration.ofSeconds(30));
  }

  public SourceRequest withRange(ByteRange newRange) {
    return new SourceRequest(url, headers, newRange, timeout);
  }
}
