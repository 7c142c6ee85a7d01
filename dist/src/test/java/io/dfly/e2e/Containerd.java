package io.dfly.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A containerd of its own (Debian's; root, state and socket under {@code dir}), run here or
 * inside a netlab host, and {@code ctr} pulls through it with a hosts.toml of the test's making.
 */
final class Containerd implements AutoCloseable {
  private final Path dir;
  private final Path socket;
  private final List<String> where;
  private final Process process;

  Containerd(Path dir, List<String> where) throws IOException, InterruptedException {
    OciRegistry.requireTools("containerd", "ctr");
    this.dir = Files.createDirectories(dir);
    this.where = List.copyOf(where);
    socket = dir.resolve("containerd.sock");
    Path config = Files.writeString(dir.resolve("config.toml"), """
        version = 2
        root = "%s"
        state = "%s"
        disabled_plugins = ["io.containerd.grpc.v1.cri"]
        [grpc]
          address = "%s"
        """.formatted(dir.resolve("root"), dir.resolve("state"), socket));
    process = new ProcessBuilder(command("containerd", "--config", config.toString())).redirectErrorStream(true)
        .redirectOutput(dir.resolve("containerd.log").toFile()).start();
    for (int i = 0; i < 300 && !Files.exists(socket); i++) {
      if (!process.isAlive()) {
        throw new IllegalStateException("containerd exited; see " + dir.resolve("containerd.log"));
      }
      Thread.sleep(100);
    }
  }

  private List<String> command(String... command) {
    List<String> full = new ArrayList<>(where);
    full.addAll(List.of(command));
    return full;
  }

  /**
   * Pulls {@code image} of {@code registry} (host:port, plain HTTP) with hosts.toml naming
   * {@code host} (a URL: a dfdaemon's proxy, or the registry itself) as where to pull from;
   * returns what {@code ctr content ls} lists afterwards.
   */
  String pull(String registry, String image, String host) throws IOException, InterruptedException {
    Path hosts = Files.createDirectories(dir.resolve("hosts.d").resolve(registry));
    // containerd 1.6 rejects a hosts.toml without a [host] table
    Files.writeString(hosts.resolve("hosts.toml"), """
        server = "http://%s"
        [host."%s"]
          capabilities = ["pull", "resolve"]
        """.formatted(registry, host));
    OciRegistry.run(dir, command("ctr", "--address", socket.toString(), "images", "pull", "--hosts-dir",
        dir.resolve("hosts.d").toString(), "--snapshotter", "native", image).toArray(String[]::new));
    return OciRegistry.run(dir, command("ctr", "--address", socket.toString(), "content", "ls").toArray(String[]::new));
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
