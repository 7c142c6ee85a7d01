package io.dfly.daemon.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.common.digest.ContentDigest;
import io.dfly.common.digest.Digests;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import io.dfly.common.net.ByteRange;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputFilesTest {
  @TempDir
  Path dir;

  private final byte[] content = "piece by piece".getBytes();

  private long filesIn(Path d) throws IOException {
    try (Stream<Path> files = Files.list(d)) {
      return files.count();
    }
  }

  @Test
  void copiesAndVerifiesThenRenamesIntoPlace() throws IOException {
    Path data = Files.write(dir.resolve("data"), content);
    Path out = dir.resolve("sub/out.bin");
    OutputFiles.publish(data, null, out, ContentDigest.parse("sha256:" + Digests.sha256Hex(content)));
    assertThat(out).hasBinaryContent(content);
    assertThat(filesIn(out.getParent())).isEqualTo(1);
    // the mode of any new file under the process umask, not 0600 like a temp file
    Path plain = Files.write(dir.resolve("plain"), content);
    assertThat(Files.getPosixFilePermissions(out)).isEqualTo(Files.getPosixFilePermissions(plain));
  }

  @Test
  void wrongDigestLeavesNothingAndKeepsAnOldFile() throws IOException {
    Path data = Files.write(dir.resolve("data"), content);
    Path out = Files.writeString(dir.resolve("out.bin"), "previous");
    assertThatThrownBy(() -> OutputFiles.publish(data, null, out, ContentDigest.parse("md5:" + "0".repeat(32))))
        .isInstanceOf(OutputFiles.BadContentException.class)
        .hasMessageContaining("digest mismatch: expected md5:");
    assertThat(out).hasContent("previous");
    assertThat(filesIn(dir)).isEqualTo(2);
  }

  @Test
  void shortStreamLeavesNothing() {
    Path out = dir.resolve("out.bin");
    assertThatThrownBy(() -> OutputFiles.publish(Channels.newChannel(new ByteArrayInputStream(content)), content.length + 10, out, null))
        .hasMessageContaining("origin sent 14 of 24 bytes");
    assertThat(out).doesNotExist();
    assertThat(dir.toFile().list()).isEmpty();
  }

  @Test
  void refusesADirectoryAsOutput() {
    assertThatThrownBy(() -> OutputFiles.publish(Channels.newChannel(new ByteArrayInputStream(content)), -1, dir, null))
        .hasMessageContaining("is a directory");
  }

  @Test
  void linksTheStoreFileWhenItCanAndCopiesRanges() throws IOException {
    Path data = Files.write(dir.resolve("data"), content);
    Path out = dir.resolve("out.bin");
    OutputFiles.publish(data, null, out, null);
    assertThat(Files.isSameFile(out, data)).as("a cache hit costs no copy").isTrue();
    Path part = dir.resolve("part.bin");
    OutputFiles.publish(data, new ByteRange(6, 7), part, ContentDigest.parse("sha256:" + Digests.sha256Hex("by".getBytes())));
    assertThat(part).hasContent("by");
    assertThat(Files.isSameFile(part, data)).isFalse();
  }

  @Test
  void writesIntoAPipeInPlaceInsteadOfReplacingIt() throws Exception {
    Path data = Files.write(dir.resolve("data"), content);
    Path fifo = dir.resolve("fifo");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    java.util.concurrent.CompletableFuture<byte[]> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return Files.readAllBytes(fifo);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    OutputFiles.publish(data, null, fifo, null);
    assertThat(read.join()).isEqualTo(content);
    assertThat(Files.isRegularFile(fifo)).as("still a pipe").isFalse();
    assertThat(Files.exists(fifo)).isTrue();
  }
}
