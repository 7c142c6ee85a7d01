package io.dfly.daemon.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** What of a file the kernel holds in its page cache, for tests of direct I/O. */
public final class PageCache {
  private PageCache() {}

  /** Bytes of the file in the page cache, as util-linux's fincore reports them. */
  public static long cachedBytes(Path file) throws Exception {
    Process fincore = new ProcessBuilder("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
        .redirectErrorStream(true).start();
    String out = new String(fincore.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(fincore.waitFor()).as("fincore: %s", out).isZero();
    return Long.parseLong(out);
  }
}
