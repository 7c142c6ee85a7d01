package io.dfly.source;

import io.dfly.common.net.ByteRange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/** What every source client test does: read bodies, and read a file in pieces from many threads as a daemon does. */
public final class SourceTesting {
  private SourceTesting() {}

  /** Every byte of a channel, through a direct buffer like the daemon's. */
  public static byte[] readAll(ReadableByteChannel channel) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocateDirect(65536);
    while (channel.read(buffer) >= 0) {
      buffer.flip();
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      out.write(bytes, 0, bytes.length);
      buffer.clear();
    }
    return out.toByteArray();
  }

  /** The body of a response, which is closed after. */
  public static byte[] read(SourceResponse response) throws IOException {
    try (response) {
      return readAll(response.body());
    }
  }

  /** Fetches {@code length} bytes as ranges of {@code piece} bytes, four at once, and joins them in order. */
  public static byte[] readInPieces(SourceClient client, Function<ByteRange, SourceRequest> request, long length,
      int piece) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<byte[]>> pieces = new ArrayList<>();
      for (long offset = 0; offset < length; offset += piece) {
        ByteRange range = new ByteRange(offset, Math.min(offset + piece, length) - 1);
        pieces.add(pool.submit(() -> read(client.open(request.apply(range)))));
      }
      ByteArrayOutputStream joined = new ByteArrayOutputStream();
      for (Future<byte[]> f : pieces) {
        joined.writeBytes(f.get());
      }
      return joined.toByteArray();
    } finally {
      pool.shutdownNow();
    }
  }
}
