package io.dfly.e2e;

import static io.dfly.e2e.DfgetRuns.dfget;
import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.e2e.DfgetRuns.Run;
import io.dfly.quickstart.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The scheduler's size classes with real processes: once one host has an empty or tiny file,
 * other hosts get it inside the scheduler's answer, without a parent or the origin; a file of
 * one piece comes whole from one parent.
 */
class SizeClassesTest extends OriginAndScheduler {


  @Test
  void emptyAndTinyFilesTravelInTheSchedulersAnswerAndASinglePieceComesFromOneParent() throws Exception {
    byte[] tiny = "a tiny file, well under 128 bytes\n".getBytes();
    byte[] small = new byte[300 << 10];
    new Random(7).nextBytes(small);
    Files.write(originDir.resolve("empty.bin"), new byte[0]);
    Files.write(originDir.resolve("tiny.txt"), tiny);
    Files.write(originDir.resolve("small.bin"), small);
    LocalCluster.Daemon first = cluster.addDaemon("first");
    LocalCluster.Daemon second = cluster.addDaemon("second");

    for (String name : new String[] {"empty.bin", "tiny.txt", "small.bin"}) {
      Run run = dfget(first, origin.url(name), work.resolve("first-" + name));
      assertThat(run.exit()).as(name + ": " + run.stderr()).isZero();
    }
    long originRequests = origin.requests();

    for (String name : new String[] {"empty.bin", "tiny.txt", "small.bin"}) {
      Path out = work.resolve("second-" + name);
      Run run = dfget(second, origin.url(name), out);
      assertThat(run.exit()).as(name + ": " + run.stderr()).isZero();
      assertThat(Files.readAllBytes(out)).as(name).isEqualTo(Files.readAllBytes(originDir.resolve(name)));
      assertThat(LocalCluster.stat(second, origin.url(name)).fromOrigin()).as(name + " from the origin").isZero();
    }
    assertThat(origin.requests()).as("requests the origin saw for the second host").isEqualTo(originRequests);
    assertThat(LocalCluster.stat(second, origin.url("small.bin")).fromPeers()).isEqualTo(small.length);
    String schedulerLog = Files.readString(cluster.workDir().resolve("scheduler.log"));
    assertThat(schedulerLog).contains("answered directly (0 bytes)").contains("answered directly (" + tiny.length + " bytes)");
  }
}
