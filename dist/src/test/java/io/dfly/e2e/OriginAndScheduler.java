package io.dfly.e2e;

import io.dfly.quickstart.LocalCluster;
import io.dfly.quickstart.OriginServer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * For end-to-end test classes whose tests share one origin (serving {@link #originDir}) and one
 * scheduler, and add the dfdaemons they need. Started before the class's tests, stopped after.
 */
abstract class OriginAndScheduler {
  @TempDir
  static Path work;

  static LocalCluster cluster;
  static OriginServer origin;
  static Path originDir;

  @BeforeAll
  static void startOriginAndScheduler() throws Exception {
    originDir = Files.createDirectories(work.resolve("origin"));
    origin = new OriginServer(originDir);
    cluster = new LocalCluster(work.resolve("cluster")).startScheduler();
  }

  @AfterAll
  static void stopOriginAndScheduler() throws Exception {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
    if (origin != null) {
      origin.close();
      origin = null;
    }
  }
}
