package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.quickstart.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test's netlab (../shared/netlab/netlab): hosts in network namespaces joined by shaped links,
 * host {@code h} at {@link #addr}. Each test class uses its own prefix, so labs never meet.
 */
final class Netlab {
  private static final Pattern TRAFFIC = Pattern.compile("tx_bytes=(\\d+) rx_bytes=(\\d+)");

  private final Path tool;
  private final String prefix;
  private final Path work;

  private Netlab(Path tool, String prefix, Path work) {
    this.tool = tool;
    this.prefix = prefix;
    this.work = work;
  }

  /** A new lab of {@code hosts} hosts at {@code rateMbit}, after taking down one left with this prefix. */
  static Netlab up(String prefix, int hosts, int rateMbit, Path work) throws IOException, InterruptedException {
    Path repo = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    Path tool = repo.resolveSibling("shared").resolve("netlab").resolve("netlab");
    if (!Files.isExecutable(tool)) {
      tool = Path.of("/work/shared/netlab/netlab");
    }
    assertThat(tool).as("netlab (shared/netlab/netlab beside the checkout)").isExecutable();
    Netlab lab = new Netlab(tool, prefix, work);
    lab.down();
    OciRegistry.run(work, tool.toString(), "up", Integer.toString(hosts), "--rate", Integer.toString(rateMbit),
        "--prefix", prefix);
    return lab;
  }

  /** Takes the lab down; a lab that is not up is no error. */
  void down() throws IOException, InterruptedException {
    new ProcessBuilder(tool.toString(), "down", "--prefix", prefix).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
  }

  /** The command prefix that runs a command inside host {@code h}. */
  List<String> in(int h) {
    return List.of("env", "NETLAB_PREFIX=" + prefix, tool.toString(), "exec", Integer.toString(h));
  }

  static String addr(int h) {
    return "10.77.0." + (10 + h);
  }

  /** The switch's network namespace, where each host's link ends as {@code nlp<h>}. */
  String switchNamespace() {
    return prefix + "-sw";
  }

  /** Starts a JVM of this distribution's class path inside host {@code h}, its output in {@code name.log}. */
  Process start(int h, String name, String heap, String mainClass, String... args) throws IOException {
    List<String> command = new ArrayList<>(in(h));
    command.addAll(LocalCluster.javaCommand(mainClass, heap));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(work.resolve(name + ".log").toFile()).start();
  }

  /** Bytes host {@code h}'s link has sent ({@code [0]}) and received ({@code [1]}). */
  long[] traffic(int h) throws IOException, InterruptedException {
    Matcher m = TRAFFIC.matcher(OciRegistry.run(work, "env", "NETLAB_PREFIX=" + prefix, tool.toString(), "stats",
        Integer.toString(h)));
    assertThat(m.find()).as("netlab stats gives tx_bytes and rx_bytes").isTrue();
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }
}
