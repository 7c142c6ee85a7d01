package io.dfly.source.hdfs;

import static io.dfly.source.SourceTesting.read;
import static io.dfly.source.SourceTesting.readInPieces;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceOptions;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Against a real HDFS: Hadoop's in-process mini cluster (one namenode, one datanode) with
 * WebHDFS on ephemeral loopback ports. Files use 1 MiB blocks so ranges cross block and
 * datanode-read boundaries.
 */
class HdfsSourceClientTest {
  private static final int BLOCK = 1024 * 1024;

  private static MiniDFSCluster cluster;
  private static String base;
  private static HdfsSourceClient client;
  private static byte[] big;

  @BeforeAll
  static void startCluster() throws IOException {
    Configuration conf = new Configuration();
    for (String key : List.of("dfs.namenode.http-address", "dfs.datanode.http.address",
        "dfs.datanode.address", "dfs.datanode.ipc.address")) {
      conf.set(key, "127.0.0.1:0");
    }
    conf.setLong("dfs.namenode.fs-limits.min-block-size", BLOCK);
    java.nio.file.Path dir = Files.createTempDirectory("dfly-hdfs-test");
    cluster = new MiniDFSCluster.Builder(conf, dir.toFile()).numDataNodes(1).build();
    cluster.waitActive();
    base = "hdfs://127.0.0.1:" + cluster.getNameNode().getHttpAddress().getPort();

    big = new byte[3 * BLOCK + 17];
    new Random(3).nextBytes(big);
    FileSystem fs = cluster.getFileSystem();
    try (FSDataOutputStream out = fs.create(new Path("/data/big.bin"), true, 64 * 1024, (short) 1, BLOCK)) {
      out.write(big);
    }
    fs.create(new Path("/data/empty")).close();
    write(fs, "/tree/a.txt", "alpha");
    write(fs, "/tree/sub/b c.txt", "bravo!");
    write(fs, "/tree/sub/deeper/c", "c");
    fs.mkdirs(new Path("/tree/empty-dir"));
    write(fs, "/tree2/not-below-tree", "x");
    write(fs, "/private/secret", "s3cret");
    fs.setPermission(new Path("/private"), new FsPermission((short) 0700));

    client = new HdfsSourceClient();
    client.configure(new SourceOptions());
  }

  private static void write(FileSystem fs, String path, String text) throws IOException {
    try (FSDataOutputStream out = fs.create(new Path(path))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  private static SourceRequest request(String path, ByteRange range) {
    return SourceRequest.whole(URI.create(base + path), Map.of()).withRange(range);
  }

  private static HdfsSourceClient as(String user) {
    SourceOptions options = new SourceOptions();
    options.hdfs.user = user;
    HdfsSourceClient configured = new HdfsSourceClient();
    configured.configure(options);
    return configured;
  }

  @Test
  void servedThroughServiceLoaderForBothSchemes() throws IOException {
    SourceClients clients = SourceClients.create(new SourceOptions());
    for (String scheme : List.of("hdfs", "webhdfs")) {
      URI url = clients.checkUrl(base.replace("hdfs://", scheme + "://") + "/tree/a.txt");
      assertThat(read(clients.forUrl(url).open(SourceRequest.whole(url, Map.of())))).asString().isEqualTo("alpha");
    }
  }

  @Test
  void readsWholeFile() throws IOException {
    SourceResponse response = client.open(request("/data/big.bin", null));
    assertThat(response.ranged()).isFalse();
    assertThat(response.totalLength()).isEqualTo(big.length);
    assertThat(read(response)).isEqualTo(big);
  }

  @Test
  void readsRangesAcrossBlocksWithTheTotalLength() throws IOException {
    SourceResponse probe = client.open(request("/data/big.bin", new ByteRange(0, 0)));
    assertThat(probe.ranged()).isTrue();
    assertThat(probe.totalLength()).isEqualTo(big.length);
    assertThat(read(probe)).containsExactly(big[0]);

    SourceResponse across = client.open(request("/data/big.bin", new ByteRange(BLOCK - 100, 2 * BLOCK + 99)));
    assertThat(across.totalLength()).isEqualTo(big.length);
    assertThat(read(across)).isEqualTo(Arrays.copyOfRange(big, BLOCK - 100, 2 * BLOCK + 100));

    SourceResponse tail = client.open(request("/data/big.bin", new ByteRange(big.length - 7, big.length + 1000)));
    assertThat(read(tail)).isEqualTo(Arrays.copyOfRange(big, big.length - 7, big.length));
  }

  @Test
  void readsPiecesFromManyThreads() throws Exception {
    byte[] joined = readInPieces(client, range -> request("/data/big.bin", range), big.length, 512 * 1024);
    assertThat(joined).isEqualTo(big);
  }

  @Test
  void rangePastTheEndIs416AndEmptyFileOpensWhole() throws IOException {
    assertThatThrownBy(() -> client.open(request("/data/big.bin", new ByteRange(big.length, big.length + 9))))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(416));
    assertThatThrownBy(() -> client.open(request("/data/empty", new ByteRange(0, 0))))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(416));
    SourceResponse empty = client.open(request("/data/empty", null));
    assertThat(empty.totalLength()).isZero();
    assertThat(read(empty)).isEmpty();
  }

  @Test
  void missingFileIs404AndDirectoryIsRefused() {
    assertThatThrownBy(() -> client.open(request("/data/nope", new ByteRange(0, 0))))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.getMessage()).isEqualTo("hdfs path " + base + "/data/nope not found (HTTP 404)");
        });
    assertThatThrownBy(() -> client.open(request("/tree", null)))
        .isInstanceOf(SourceException.class).hasMessageContaining("is a directory");
  }

  @Test
  void userOptionIsSentAndPermissionsApply() throws IOException {
    assertThatThrownBy(() -> as("mallory").open(request("/private/secret", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(403);
          assertThat(e.getMessage()).startsWith("access to " + base + "/private/secret denied: ")
              .contains("user=mallory").doesNotContain("\n");
        });
    String owner = cluster.getFileSystem().getFileStatus(new Path("/private")).getOwner();
    assertThat(read(as(owner).open(request("/private/secret", null)))).asString().isEqualTo("s3cret");
  }

  @Test
  void unreachableNamenodeIsAOneLineError() {
    assertThatThrownBy(() -> client.open(SourceRequest.whole(URI.create("hdfs://127.0.0.1:1/x"), Map.of())))
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.statusCode()).isZero();
          assertThat(e.getMessage()).isEqualTo("namenode 127.0.0.1:1 is unreachable: connection refused");
        });
  }

  @Test
  void urlWithoutPortUsesTheDefaultWebHdfsPort() {
    assertThat(as("bob").webhdfs(URI.create("hdfs://nn.example/a%20b"), "/a%20b", "op=OPEN"))
        .isEqualTo(URI.create("http://nn.example:9870/webhdfs/v1/a%20b?op=OPEN&user.name=bob"));
  }

  @Test
  void listsFilesRecursively() throws IOException {
    for (String dir : List.of("/tree", "/tree/")) {
      List<SourceEntry> entries = client.list(request(dir, null));
      assertThat(entries).extracting(SourceEntry::relativePath).containsExactly("a.txt", "sub/b c.txt", "sub/deeper/c");
      assertThat(entries).extracting(SourceEntry::length).containsExactly(5L, 6L, 1L);
      SourceEntry spaced = entries.get(1);
      assertThat(spaced.url()).isEqualTo(URI.create(base + "/tree/sub/b%20c.txt"));
      assertThat(read(client.open(SourceRequest.whole(spaced.url(), Map.of())))).asString().isEqualTo("bravo!");
    }
  }

  @Test
  void listingAFileOrMissingDirectoryFails() {
    assertThatThrownBy(() -> client.list(request("/tree/a.txt", null)))
        .isInstanceOf(SourceException.class).hasMessageContaining("is not a directory");
    assertThatThrownBy(() -> client.list(request("/nothing", null)))
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
  }
}
