package io.dfly.dfget;

import io.dfly.api.common.v1.Download;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.ContentDigest;
import io.dfly.daemon.output.OutputFiles;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/** dfget without a daemon: one stream from the origin, written atomically and verified. */
final class StandaloneDownload {
  private StandaloneDownload() {}

  static long run(Download download, Path output, ContentDigest expected) {
    URI url = SourceClients.get().checkUrl(download.getUrl());
    try (SourceResponse response = SourceClients.get().forUrl(url)
        .open(SourceRequest.whole(url, download.getHeadersMap()))) {
      return OutputFiles.publish(response.body(), response.totalLength(), output, expected);
    } catch (SourceException | OutputFiles.BadContentException e) {
      throw new Commands.UserError(1, e.getMessage());
    } catch (IOException e) {
      throw new Commands.UserError(1, "cannot write " + output + ": " + e.getMessage());
    }
  }
}
