package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.quickstart.LocalCluster;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients pulling from a real registry through dfdaemon: containerd (ctr, hosts.toml
 * naming dfdaemon as mirror) on two "hosts", skopeo through the HTTP proxy, curl -x. A
 * scheduler, a seed peer and two dfdaemons run as their own processes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistryMirrorTest {
  private static final String REPOSITORY = "dfly/app";

  @TempDir
  static Path work;

  static OciRegistry registry;
  static LocalCluster cluster;
  static LocalCluster.Daemon hostA;
  static LocalCluster.Daemon hostB;
  static Map<String, Long> layers;
  static final List<Containerd> containerds = new java.util.ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    OciRegistry.requireTools("containerd", "ctr", "curl");
    registry = new OciRegistry(work.resolve("registry"));
    layers = registry.pushImage(REPOSITORY, "v1", 3, 6, 12);
    String mirrorOf = "http://" + registry.authority();
    cluster = new LocalCluster(work.resolve("cluster")).startScheduler();
    cluster.addSeedPeer("seed");
    hostA = cluster.addDaemon("host-a", "--registry-mirror", mirrorOf);
    hostB = cluster.addDaemon("host-b", "--registry-mirror", mirrorOf);
  }

  @AfterAll
  static void stop() throws Exception {
    for (Containerd containerd : containerds) {
      containerd.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  @Order(1)
  void twoContainerdHostsPullThroughTheirDfdaemonsAndTheRegistryServesEachLayerOnce() throws Exception {
    String image = registry.authority() + "/" + REPOSITORY + ":v1";
    pullWithContainerd("a", hostA, image);
    for (Map.Entry<String, Long> layer : layers.entrySet()) {
      assertThat(registry.accessLog()).as("layer %s went through the P2P engine (range reads)", layer.getKey())
          .filteredOn(a -> a.uri().endsWith("/blobs/" + layer.getKey()) && a.method().equals("GET"))
          .isNotEmpty().allMatch(a -> a.status() == 206);
    }
    pullWithContainerd("b", hostB, image);
    for (Map.Entry<String, Long> layer : layers.entrySet()) {
      assertThat(registry.blobBytesServed(layer.getKey()))
          .as("registry bytes for layer %s after two hosts pulled it (one-byte probe allowed)", layer.getKey())
          .isBetween(layer.getValue(), layer.getValue() + 1);
    }
    assertThat(registry.accessLog()).as("containerd's ns parameter is not passed to the registry")
        .noneMatch(a -> a.uri().contains("ns="));
  }

  /** A containerd of its own pulls {@code image} with hosts.toml naming the dfdaemon's proxy as mirror. */
  private static void pullWithContainerd(String name, LocalCluster.Daemon daemon, String image) throws Exception {
    Containerd containerd = new Containerd(work.resolve("containerd-" + name), List.of());
    containerds.add(containerd);
    String content = containerd.pull(registry.authority(), image, "http://127.0.0.1:" + cluster.proxyPort(daemon));
    assertThat(content).as("containerd %s holds every layer (it checks their digests as it writes them)", name)
        .contains(layers.keySet());
  }

  @Test
  @Order(2)
  void skopeoCopiesThroughTheHttpProxy() throws Exception {
    // Go clients bypass a proxy for loopback addresses and "localhost", not for other names that resolve there.
    String hostname = InetAddress.getLocalHost().getHostName();
    assertThat(InetAddress.getByName(hostname).isLoopbackAddress())
        .as("this machine's name %s resolves to loopback (it names the registry for skopeo)", hostname).isTrue();
    int before = registry.accessLog().size();
    Path out = work.resolve("skopeo-out");
    String proxy = "http://127.0.0.1:" + cluster.proxyPort(hostB);
    ProcessBuilder skopeo = new ProcessBuilder("skopeo", "copy", "--src-tls-verify=false",
        "docker://" + hostname + ":" + registry.port() + "/" + REPOSITORY + ":v1", "dir:" + out)
        .redirectErrorStream(true).redirectOutput(work.resolve("skopeo.log").toFile());
    skopeo.environment().put("HTTP_PROXY", proxy);
    skopeo.environment().put("HTTPS_PROXY", proxy);
    Process process = skopeo.start();
    assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
    assertThat(process.exitValue()).as("skopeo: %s", Files.readString(work.resolve("skopeo.log"))).isZero();
    List<OciRegistry.Access> during = registry.accessLog().subList(before, registry.accessLog().size());
    for (String digest : layers.keySet()) {
      assertThat(OciRegistry.sha256(out.resolve(digest.substring("sha256:".length())))).isEqualTo(digest);
      assertThat(during).as("layer %s fetched by the P2P engine (range reads), not by skopeo", digest)
          .filteredOn(a -> a.uri().endsWith("/blobs/" + digest) && a.method().equals("GET"))
          .isNotEmpty().allMatch(a -> a.status() == 206);
    }
  }

  @Test
  @Order(3)
  void skopeoPullsThroughDfdaemonNamedAsMirrorInRegistriesConf() throws Exception {
    // containers/image (skopeo, Podman, CRI-O) sends no ns: dfdaemon's registry-mirror names the registry
    Path conf = Files.writeString(work.resolve("registries.conf"), """
        [[registry]]
        location = "%s"
        insecure = true
        [[registry.mirror]]
        location = "127.0.0.1:%d"
        insecure = true
        """.formatted(registry.authority(), cluster.proxyPort(hostA)));
    Map<String, Long> servedBefore = new java.util.HashMap<>();
    for (String digest : layers.keySet()) {
      servedBefore.put(digest, registry.blobBytesServed(digest));
    }
    Path out = work.resolve("registries-conf-out");
    OciRegistry.run(work, "skopeo", "--registries-conf", conf.toString(), "copy",
        "docker://" + registry.authority() + "/" + REPOSITORY + ":v1", "dir:" + out);
    for (String digest : layers.keySet()) {
      assertThat(OciRegistry.sha256(out.resolve(digest.substring("sha256:".length())))).isEqualTo(digest);
      assertThat(registry.blobBytesServed(digest)).as("layer %s came from host A's store, not the registry", digest)
          .isEqualTo(servedBefore.get(digest));
    }
  }

  @Test
  @Order(4)
  void curlGetsFilesAndBlobsThroughTheProxy() throws Exception {
    String proxy = "127.0.0.1:" + cluster.proxyPort(hostA);
    String digest = layers.keySet().iterator().next();
    Path blob = work.resolve("curl-blob");
    long servedBefore = registry.blobBytesServed(digest);
    OciRegistry.run(work, "curl", "-sSf", "-x", proxy, "-o", blob.toString(),
        "http://" + registry.authority() + "/v2/" + REPOSITORY + "/blobs/" + digest + "?Expires=1&Signature=x");
    assertThat(OciRegistry.sha256(blob)).isEqualTo(digest);
    assertThat(registry.blobBytesServed(digest)).as("a signed URL of a blob host A has: served from its store")
        .isEqualTo(servedBefore);
    String catalog = OciRegistry.run(work, "curl", "-sSf", "-x", proxy, "http://" + registry.authority() + "/v2/_catalog");
    assertThat(catalog).contains(REPOSITORY);
    assertThat(registry.accessLog()).as("curl's plain request went straight to the registry")
        .anyMatch(a -> a.uri().equals("/v2/_catalog") && a.status() == 200);
  }
}
