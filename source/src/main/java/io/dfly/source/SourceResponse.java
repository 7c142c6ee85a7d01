package io.dfly.source;

import java.io.Closeable;
import java.io.InputStream;

/**
 * An open response from an origin.
 *
 * @param totalLength length of the whole content, -1 when the origin does not say
 * @param ranged true when the body holds exactly the requested range; false when the origin
 *     ignored the range and sends the whole content
 * @param body the bytes; closing the response closes it
 */
public record SourceResponse(long totalLength, boolean ranged, InputStream body) implements Closeable {

  @Override
  public void close() {
    try {
      body.close();
    } catch (java.io.IOException ignored) {
      // the connection is discarded either way
    }
  }
}
