package io.dfly.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;

/**
 * An open response from an origin. The body is a channel so that clients which can read
 * straight into direct buffers (sockets, files) do; stream-based clients wrap with {@link #of}.
 *
 * @param totalLength length of the whole content, -1 when the origin does not say
 * @param ranged true when the body holds exactly the requested range; false when the origin
 *     ignored the range and sends the whole content
 * @param body the bytes; closing the response closes it
 */
public record SourceResponse(long totalLength, boolean ranged, ReadableByteChannel body) implements Closeable {

  public static SourceResponse of(long totalLength, boolean ranged, InputStream body) {
    return new SourceResponse(totalLength, ranged, Channels.newChannel(body));
  }

  /** The body as a stream, for callers that want one. */
  public InputStream stream() {
    return Channels.newInputStream(body);
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException ignored) {
      // the connection is discarded either way
    }
  }
}
