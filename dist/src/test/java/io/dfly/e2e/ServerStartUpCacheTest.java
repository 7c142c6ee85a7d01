package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dfdaemon and scheduler launchers as an operator runs them: the first start trains one
 * start-up cache for both, later starts use it as it is, and a start while a training holds the
 * lock goes on without one.
 */
class ServerStartUpCacheTest {
  private static final Path BIN = Path.of(System.getProperty("dfly.dist", "target/dragonfly"), "bin");

  @TempDir
  Path cacheHome;

  @Test
  void theFirstStartTrainsOneCacheThatTheOtherLauncherUsesAsItIs() throws Exception {
    assertThat(BIN.resolve("scheduler")).as("the distribution is assembled before the end-to-end tests").isExecutable();
    assertThat(run("scheduler")).isZero();
    Path cache = onlyCache();
    assertThat(Files.size(cache)).as("a trained cache holds the server's classes").isGreaterThan(10L << 20);
    FileTime trained = Files.getLastModifiedTime(cache);

    assertThat(run("dfdaemon")).isZero();
    assertThat(onlyCache()).isEqualTo(cache);
    assertThat(Files.getLastModifiedTime(cache)).as("the dfdaemon launcher took the scheduler's cache").isEqualTo(trained);
  }

  @Test
  void aStartWhileATrainingHoldsTheLockGoesOnWithoutTrainingToo() throws Exception {
    Path dir = Files.createDirectories(cacheHome.resolve("dfly"));
    // Held as a training holds it: flock on the file beside where the cache goes.
    Process holder = new ProcessBuilder("flock", lockPath(dir).toString(), "sleep", "60").start();
    try {
      Thread.sleep(500);
      assertThat(run("dfdaemon")).isZero();
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files.filter(f -> f.toString().endsWith(".aot"))).as("no cache was made").isEmpty();
      }
    } finally {
      holder.destroy();
      holder.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Where the launchers keep this installation's server cache lock, by their naming. */
  private static Path lockPath(Path dir) throws Exception {
    String home = BIN.getParent().toRealPath().toString().replace('/', '_');
    return dir.resolve("server-" + Runtime.version().feature() + home + ".lock");
  }

  private int run(String launcher) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(List.of(BIN.resolve(launcher).toString(), "--help"))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().put("XDG_CACHE_HOME", cacheHome.toString());
    Process process = builder.start();
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).as(launcher + " --help ended").isTrue();
    return process.exitValue();
  }

  private Path onlyCache() throws Exception {
    try (Stream<Path> files = Files.list(cacheHome.resolve("dfly"))) {
      List<Path> caches = files.filter(f -> f.getFileName().toString().startsWith("server-")
          && f.toString().endsWith(".aot")).toList();
      assertThat(caches).hasSize(1);
      return caches.getFirst();
    }
  }
}
