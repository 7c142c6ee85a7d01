package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.quickstart.LocalCluster.TaskStat;
import io.dfly.quickstart.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** dfget as a process against a cluster's dfdaemon, and what the fault tests check about its results. */
final class DfgetRuns {
  private DfgetRuns() {}

  /** How dfget ended: its exit code and everything it wrote to stderr. */
  record Run(int exit, String stderr) {}

  /** Starts dfget; its stderr goes next to the output, as {@code <output>.err}. */
  static Process startDfget(LocalCluster.Daemon daemon, String url, Path output, String... extra) throws IOException {
    List<String> command = LocalCluster.javaCommand("io.dfly.dfget.DfgetMain", "-Xmx128m", "-XX:TieredStopAtLevel=1");
    command.addAll(List.of(url, "-O", output.toString(), "--daemon", daemon.api(), "--no-progress"));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(errorFile(output).toFile()).start();
  }

  static Run finish(Process process, Path output) throws Exception {
    assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("dfget finished").isTrue();
    return new Run(process.exitValue(), Files.readString(errorFile(output)));
  }

  static Run dfget(LocalCluster.Daemon daemon, String url, Path output, String... extra) throws Exception {
    return finish(startDfget(daemon, url, output, extra), output);
  }

  private static Path errorFile(Path output) {
    return output.resolveSibling(output.getFileName() + ".err");
  }

  /** Waits until the daemon holds at least {@code fraction} of the task's pieces. */
  static TaskStat awaitProgress(LocalCluster.Daemon daemon, String url, double fraction) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        TaskStat stat = LocalCluster.stat(daemon, url);
        if (stat.pieceCount() > 0 && stat.finishedPieces() >= stat.pieceCount() * fraction) {
          return stat;
        }
      } catch (java.util.NoSuchElementException notYet) {
        // the task is not registered yet
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no progress on " + url + " at " + daemon.name());
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  static String sha256(Path file) throws Exception {
    return sha256(Files.readAllBytes(file));
  }
}
