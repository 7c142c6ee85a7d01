package io.dfly.dfget;

import io.dfly.api.common.v1.Download;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.net.ByteRange;
import io.dfly.daemon.output.OutputFiles;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** dfget without a daemon: one stream from the origin, written atomically and verified. */
final class StandaloneDownload {
  private StandaloneDownload() {}

  /** Fetches to {@code output} (null: stdout), all of it or {@code rangeSpec}; returns the bytes written. */
  static long run(Download download, Path output, ContentDigest expected, String rangeSpec) {
    URI url = SourceClients.get().checkUrl(download.getUrl());
    SourceRequest request = SourceRequest.whole(url, download.getHeadersMap());
    ByteRange range = rangeSpec == null ? null : ByteRange.parseWanted(rangeSpec);
    if (range != null) {
      request = request.withRange(range);
    }
    try (SourceResponse response = SourceClients.get().forUrl(url).open(request)) {
      if (range != null && !response.ranged()) {
        throw new Commands.UserError(DfgetMain.FAILED, "the origin does not serve ranges");
      }
      long expectedLength = range == null ? response.totalLength()
          : Math.min(range.last(), response.totalLength() - 1) - range.first() + 1;
      if (output == null) {
        return toStdout(response, expectedLength);
      }
      return OutputFiles.publish(response.body(), expectedLength, output, expected);
    } catch (SourceException e) {
      throw new Commands.UserError(DfgetMain.FAILED, e.getMessage());
    } catch (OutputFiles.BadContentException e) {
      throw new Commands.UserError(DfgetMain.BAD_CONTENT, e.getMessage());
    } catch (IOException e) {
      throw new Commands.UserError(DfgetMain.CANNOT_WRITE, "cannot write " + (output == null ? "stdout" : output)
          + ": " + e.getMessage());
    }
  }

  private static long toStdout(SourceResponse response, long expectedLength) throws IOException {
    FileChannel out = new FileOutputStream(FileDescriptor.out).getChannel();
    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
    long total = 0;
    while (response.body().read(buffer) >= 0) {
      buffer.flip();
      total += buffer.remaining();
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      buffer.clear();
    }
    if (expectedLength >= 0 && total != expectedLength) {
      throw new Commands.UserError(DfgetMain.FAILED, "origin sent " + total + " of " + expectedLength + " bytes");
    }
    return total;
  }
}
