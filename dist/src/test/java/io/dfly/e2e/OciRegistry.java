package io.dfly.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dfly.common.fs.FileTrees;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real OCI registry (Debian's docker-registry) on loopback, with its access log in a file,
 * and images built with umoci and pushed with skopeo.
 */
final class OciRegistry implements AutoCloseable {
  private static final Pattern ACCESS = Pattern.compile("\"(GET|HEAD) (\\S+) HTTP/1\\.1\" (\\d{3}) (\\d+)");

  private final Path dir;
  private final String ip;
  private final int port;
  /** Prefix that runs a command where the registry runs (a netlab host), or nothing. */
  private final List<String> where;
  private final Process process;

  /** One line of the access log: a request and what the registry answered. */
  record Access(String method, String uri, int status, long bytes) {}

  /** A registry on 127.0.0.1 and a free port. */
  OciRegistry(Path dir) throws IOException, InterruptedException {
    this(dir, "127.0.0.1", freePort(), List.of());
  }

  /** A registry on {@code ip:port}, started (like skopeo pushing to it) through the {@code where} prefix. */
  OciRegistry(Path dir, String ip, int port, List<String> where) throws IOException, InterruptedException {
    this.dir = Files.createDirectories(dir);
    this.ip = ip;
    this.port = port;
    this.where = List.copyOf(where);
    requireTools("docker-registry", "skopeo", "umoci");
    Path config = Files.writeString(dir.resolve("config.yml"), """
        version: 0.1
        log:
          level: info
          accesslog: {disabled: false}
        storage:
          filesystem: {rootdirectory: %s}
        http:
          addr: %s:%d
        """.formatted(dir.resolve("data"), ip, port));
    process = new ProcessBuilder(command("docker-registry", "serve", config.toString()))
        .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
    awaitPort(where, ip, port, process);
  }

  private List<String> command(String... command) {
    List<String> full = new ArrayList<>(where);
    full.addAll(List.of(command));
    return full;
  }

  static void requireTools(String... tools) {
    for (String tool : tools) {
      if (java.util.Arrays.stream(System.getenv("PATH").split(":")).noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
        throw new IllegalStateException(tool + " is not installed: .ci/run installs it (apt-get install docker-registry"
            + " skopeo containerd umoci)");
      }
    }
  }

  String authority() {
    return ip + ":" + port;
  }

  int port() {
    return port;
  }

  /**
   * Builds an image of one layer per size (random bytes, so gzip cannot shrink them), pushes it
   * as {@code repository:tag} and returns the layer blobs' digests and sizes as pushed.
   */
  Map<String, Long> pushImage(String repository, String tag, int... layerMiB) throws IOException, InterruptedException {
    Path layout = dir.resolve("build-" + tag);
    run(dir, "umoci", "init", "--layout", layout.toString());
    run(dir, "umoci", "new", "--image", layout + ":" + tag);
    Random random = new Random(tag.hashCode());
    byte[] chunk = new byte[1 << 20];
    for (int i = 0; i < layerMiB.length; i++) {
      Path bundle = dir.resolve("bundle-" + tag + "-" + i);
      run(dir, "umoci", "unpack", "--rootless", "--image", layout + ":" + tag, bundle.toString());
      try (OutputStream out = Files.newOutputStream(bundle.resolve("rootfs").resolve("layer" + i + ".bin"))) {
        for (int m = 0; m < layerMiB[i]; m++) {
          random.nextBytes(chunk);
          out.write(chunk);
        }
      }
      run(dir, "umoci", "repack", "--image", layout + ":" + tag, bundle.toString());
      FileTrees.delete(bundle);
    }
    run(dir, command("skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout + ":" + tag,
        "docker://" + authority() + "/" + repository + ":" + tag).toArray(String[]::new));
    // skopeo pushes the layout's blobs as they are: the layout's manifest names what the registry holds
    ObjectMapper json = new ObjectMapper();
    JsonNode index = json.readTree(layout.resolve("index.json").toFile());
    String manifestDigest = index.get("manifests").get(0).get("digest").asText();
    JsonNode manifest = json.readTree(layout.resolve("blobs/sha256").resolve(manifestDigest.substring(7)).toFile());
    Map<String, Long> layers = new TreeMap<>();
    for (JsonNode layer : manifest.get("layers")) {
      layers.put(layer.get("digest").asText(), layer.get("size").asLong());
    }
    if (layers.size() != layerMiB.length) {
      throw new IllegalStateException("expected " + layerMiB.length + " layers in " + manifest);
    }
    return layers;
  }

  /** The access log so far (the registry writes it as it answers). */
  List<Access> accessLog() throws IOException {
    List<Access> lines = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("registry.log"))) {
      Matcher m = ACCESS.matcher(line);
      if (m.find()) {
        lines.add(new Access(m.group(1), m.group(2), Integer.parseInt(m.group(3)), Long.parseLong(m.group(4))));
      }
    }
    return lines;
  }

  /** Body bytes the registry sent for GETs of one blob, summed over the whole log. */
  long blobBytesServed(String digest) throws IOException {
    return accessLog().stream().filter(a -> a.method().equals("GET") && a.uri().endsWith("/blobs/" + digest))
        .mapToLong(Access::bytes).sum();
  }

  static String run(Path workDir, String... command) throws IOException, InterruptedException {
    Path log = Files.createTempFile(workDir, "cmd", ".log");
    Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    if (!process.waitFor(3, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish in 3 minutes");
    }
    String output = Files.readString(log);
    if (process.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue() + ":\n" + output);
    }
    return output;
  }

  static String sha256(Path file) throws IOException {
    try (var in = Files.newInputStream(file)) {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      int n;
      while ((n = in.read(buffer)) > 0) {
        digest.update(buffer, 0, n);
      }
      return "sha256:" + HexFormat.of().formatHex(digest.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /**
   * Waits until something listens on {@code ip:port}, probing from where {@code where} runs
   * commands (a netlab host's namespace) or from here.
   */
  static void awaitPort(List<String> where, String ip, int port, Process owner) throws IOException,
      InterruptedException {
    for (int attempt = 0; attempt < 600; attempt++) {
      if (!owner.isAlive()) {
        throw new IllegalStateException("the process for " + ip + ":" + port + " exited with " + owner.exitValue());
      }
      if (where.isEmpty()) {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress(ip, port), 200);
          return;
        } catch (IOException notYet) {
          // not yet
        }
      } else {
        List<String> probe = new ArrayList<>(where);
        probe.addAll(List.of("bash", "-c", "exec 3<>/dev/tcp/" + ip + "/" + port));
        if (new ProcessBuilder(probe).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start().waitFor() == 0) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("nothing listens on " + ip + ":" + port);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
