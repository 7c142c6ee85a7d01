package io.dfly.source.file;

import static io.dfly.source.SourceTesting.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSourceClientTest {
  @TempDir Path dir;
  private final FileSourceClient client = new FileSourceClient();
  private byte[] content;
  private Path file;

  @BeforeEach
  void writeFile() throws IOException {
    content = new byte[300_000];
    new Random(7).nextBytes(content);
    file = dir.resolve("data.bin");
    Files.write(file, content);
  }

  private static SourceRequest request(URI url, ByteRange range) {
    return SourceRequest.whole(url, Map.of()).withRange(range);
  }

  /** Reads with a buffer larger than any range, so the body itself must stop at the range end. */
  @Test
  void servedThroughServiceLoader() {
    URI url = file.toUri();
    assertThat(SourceClients.get().forUrl(SourceClients.get().checkUrl(url.toString())))
        .isInstanceOf(FileSourceClient.class);
  }

  @Test
  void readsWholeFile() throws IOException {
    SourceResponse response = client.open(SourceRequest.whole(file.toUri(), Map.of()));
    assertThat(response.ranged()).isFalse();
    assertThat(response.totalLength()).isEqualTo(content.length);
    assertThat(read(response)).isEqualTo(content);
  }

  @Test
  void readsExactlyTheRange() throws IOException {
    SourceResponse response = client.open(request(file.toUri(), new ByteRange(1000, 70_999)));
    assertThat(response.ranged()).isTrue();
    assertThat(response.totalLength()).isEqualTo(content.length);
    assertThat(read(response)).isEqualTo(Arrays.copyOfRange(content, 1000, 71_000));
  }

  @Test
  void probesFirstByteAndClipsLastRangeAtTheEnd() throws IOException {
    SourceResponse probe = client.open(request(file.toUri(), new ByteRange(0, 0)));
    assertThat(probe.totalLength()).isEqualTo(content.length);
    assertThat(read(probe)).containsExactly(content[0]);

    SourceResponse tail = client.open(request(file.toUri(), new ByteRange(content.length - 10, content.length + 100)));
    assertThat(read(tail)).isEqualTo(Arrays.copyOfRange(content, content.length - 10, content.length));
  }

  @Test
  void rangePastTheEndIs416() {
    assertThatThrownBy(() -> client.open(request(file.toUri(), new ByteRange(content.length, content.length + 5))))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(416));
  }

  @Test
  void emptyFileRefusesTheProbeAndOpensWhole() throws IOException {
    Path empty = Files.createFile(dir.resolve("empty"));
    assertThatThrownBy(() -> client.open(request(empty.toUri(), new ByteRange(0, 0))))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(416));
    SourceResponse whole = client.open(SourceRequest.whole(empty.toUri(), Map.of()));
    assertThat(whole.totalLength()).isZero();
    assertThat(read(whole)).isEmpty();
  }

  @Test
  void missingFileIs404() {
    URI missing = dir.resolve("nope").toUri();
    assertThatThrownBy(() -> client.open(SourceRequest.whole(missing, Map.of())))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.getMessage()).contains("not found").doesNotContain("\n");
        });
  }

  @Test
  void directoryIsRefusedWithAHint() {
    assertThatThrownBy(() -> client.open(SourceRequest.whole(dir.toUri(), Map.of())))
        .isInstanceOf(SourceException.class)
        .hasMessageContaining("is a directory");
  }

  @Test
  void remoteHostIsRefused() {
    assertThatThrownBy(() -> client.open(SourceRequest.whole(URI.create("file://nas1/data.bin"), Map.of())))
        .isInstanceOf(SourceException.class)
        .hasMessageContaining("names host 'nas1'");
  }

  @Test
  void pathWithSpacesIsDecoded() throws IOException {
    Path spaced = Files.write(dir.resolve("a b.txt"), new byte[] {1, 2, 3});
    assertThat(spaced.toUri().toString()).contains("%20");
    assertThat(read(client.open(SourceRequest.whole(spaced.toUri(), Map.of())))).containsExactly(1, 2, 3);
  }

  @Test
  void listsRegularFilesRecursivelySorted() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("tree"));
    Files.createDirectories(tree.resolve("b/c"));
    Files.createDirectories(tree.resolve("empty-dir"));
    Files.write(tree.resolve("z.txt"), new byte[5]);
    Files.write(tree.resolve("b/one"), new byte[1]);
    Files.write(tree.resolve("b/c/deep"), new byte[42]);
    Files.createSymbolicLink(tree.resolve("link"), file);

    List<SourceEntry> entries = client.list(SourceRequest.whole(tree.toUri(), Map.of()));

    assertThat(entries).extracting(SourceEntry::relativePath).containsExactly("b/c/deep", "b/one", "link", "z.txt");
    assertThat(entries).extracting(SourceEntry::length).containsExactly(42L, 1L, (long) content.length, 5L);
    SourceEntry deep = entries.get(0);
    assertThat(read(client.open(SourceRequest.whole(deep.url(), Map.of())))).hasSize(42);
  }

  @Test
  void listingAFileOrMissingDirectoryFails() {
    assertThatThrownBy(() -> client.list(SourceRequest.whole(file.toUri(), Map.of())))
        .isInstanceOf(SourceException.class).hasMessageContaining("is not a directory");
    assertThatThrownBy(() -> client.list(SourceRequest.whole(dir.resolve("nope").toUri(), Map.of())))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
  }
}
