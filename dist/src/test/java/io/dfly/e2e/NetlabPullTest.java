package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hosts of a netlab (network namespaces joined by shaped links) pull one image through
 * their dfdaemons: the registry on host 0, the scheduler and a seed peer on host 1, dfdaemon and
 * containerd on hosts 2 and 3, every process its own, as on real machines.
 */
class NetlabPullTest {
  private static final String PREFIX = "dfe2e";

  @TempDir
  static Path work;

  static Netlab lab;
  static final List<Process> processes = new ArrayList<>();
  static final List<Containerd> containerds = new ArrayList<>();
  static OciRegistry registry;

  @BeforeAll
  static void labUp() throws Exception {
    lab = Netlab.up(PREFIX, 4, 1000, work);
  }

  @AfterAll
  static void labDown() throws Exception {
    for (Containerd containerd : containerds) {
      containerd.close();
    }
    for (Process process : processes.reversed()) {
      process.destroy();
    }
    for (Process process : processes) {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    if (registry != null) {
      registry.close();
    }
    if (lab != null) {
      lab.down();
    }
  }

  private static List<String> in(int h) {
    return lab.in(h);
  }

  private static String addr(int h) {
    return Netlab.addr(h);
  }

  private static Process start(int h, String name, String mainClass, String... args) throws IOException {
    Process process = lab.start(h, name, "-Xmx256m", mainClass, args);
    processes.add(process);
    return process;
  }

  /** Bytes host {@code h}'s link has sent. */
  private static long sent(int h) throws IOException, InterruptedException {
    return lab.traffic(h)[0];
  }

  @Test
  void twoHostsPullOneImageAndTheRegistryServesEachLayerOnce() throws Exception {
    registry = new OciRegistry(work.resolve("registry"), addr(0), 5000, in(0));
    Map<String, Long> layers = registry.pushImage("dfly/app", "v1", 4, 8, 16);
    long imageBytes = layers.values().stream().mapToLong(Long::longValue).sum();
    String mirrorOf = "http://" + registry.authority();
    // Off loopback every part needs the cluster's shared secret.
    Path token = Files.writeString(work.resolve("cluster-token"), java.util.UUID.randomUUID().toString());
    Process scheduler = start(1, "scheduler", "io.dfly.scheduler.SchedulerMain", "--listen", addr(1) + ":8002",
        "--cluster-token-file", token.toString());
    OciRegistry.awaitPort(in(1), addr(1), 8002, scheduler);
    for (int h = 1; h <= 3; h++) {
      List<String> args = new ArrayList<>(List.of("--scheduler", addr(1) + ":8002", "--data-dir",
          work.resolve("data-h" + h).toString(), "--listen", addr(h), "--registry-mirror", mirrorOf,
          "--cluster-token-file", token.toString()));
      if (h == 1) {
        args.add("--seed-peer");
      }
      Process daemon = start(h, "dfdaemon-h" + h, "io.dfly.daemon.DfdaemonMain", args.toArray(String[]::new));
      OciRegistry.awaitPort(in(h), "127.0.0.1", 65003, daemon); // the local API: once announced to the scheduler
      OciRegistry.awaitPort(in(h), "127.0.0.1", 65001, daemon);
    }

    String image = registry.authority() + "/dfly/app:v1";
    for (int h = 2; h <= 3; h++) {
      long registrySentBefore = sent(0);
      Containerd containerd = new Containerd(work.resolve("containerd-h" + h), in(h));
      containerds.add(containerd);
      assertThat(containerd.pull(registry.authority(), image, "http://127.0.0.1:65001"))
          .as("host %d's containerd holds every layer", h).contains(layers.keySet());
      if (h == 3) {
        assertThat(sent(0) - registrySentBefore).as("bytes host 0 (the registry) sent during host 3's pull")
            .isLessThan(imageBytes / 20);
      }
    }
    for (Map.Entry<String, Long> layer : layers.entrySet()) {
      assertThat(registry.blobBytesServed(layer.getKey()))
          .as("registry bytes for layer %s after two hosts pulled it (one-byte probe allowed)", layer.getKey())
          .isBetween(layer.getValue(), layer.getValue() + 1);
    }
  }
}
