package io.dfly.quickstart;

import io.dfly.common.cli.Commands;
import io.dfly.common.cli.Service;
import io.dfly.common.fs.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A stand-alone HTTP origin (on 127.0.0.1 unless told otherwise) for benchmarks and trials: serves one file (generated,
 * or given) with single byte ranges and zero-copy {@code sendfile}, prints its URL on stdout and
 * runs until SIGTERM or SIGINT.
 */
@Command(name = "origin", mixinStandardHelpOptions = true,
    description = "Serves a generated or given file over HTTP (with Range), on 127.0.0.1 unless --listen says "
        + "otherwise, until stopped; "
        + "prints the URL on stdout.")
public final class OriginCommand implements Callable<Integer> {
  private static final long MIB = 1 << 20;

  @Option(names = "--port", defaultValue = "0", description = "port (default: any free port)")
  int port;

  @Option(names = "--listen", paramLabel = "IP", defaultValue = "127.0.0.1",
      description = "address to listen on (default 127.0.0.1; the file is public to anyone who reaches it)")
  String listen;

  @ArgGroup(exclusive = true, multiplicity = "1")
  What what;

  static final class What {
    @Option(names = "--size-mib", paramLabel = "N", description = "serve N MiB of generated pseudo-random bytes")
    Long sizeMib;

    @Option(names = "--file", paramLabel = "PATH", description = "serve this file")
    Path file;
  }

  @Option(names = "--dir", paramLabel = "DIR",
      description = "with --size-mib: where the file is generated, and kept (an existing file of the right "
          + "size is reused); default: a temporary directory removed on exit")
  Path dir;

  @Override
  public Integer call() throws Exception {
    Path root;
    String name;
    boolean removeRoot = false;
    if (what.file != null) {
      Path file = what.file.toAbsolutePath().normalize();
      if (!Files.isRegularFile(file)) {
        throw new Commands.UserError(1, file + " is not a regular file");
      }
      root = file.getParent();
      name = file.getFileName().toString();
    } else {
      if (what.sizeMib < 0) {
        throw new IllegalArgumentException("--size-mib must not be negative");
      }
      if (dir == null) {
        root = Files.createTempDirectory("dfly-origin-");
        removeRoot = true;
      } else {
        root = Files.createDirectories(dir).toAbsolutePath().normalize();
      }
      name = "blob-" + what.sizeMib + "MiB.bin";
      Path file = root.resolve(name);
      long size = what.sizeMib * MIB;
      if (Files.isRegularFile(file) && Files.size(file) == size) {
        System.err.printf("origin: reusing %s%n", file);
      } else {
        long start = System.nanoTime();
        String sha256 = Quickstart.generate(file, size);
        System.err.printf("origin: generated %s (%d MiB, sha256 %s) in %.1f s%n", file, what.sizeMib, sha256,
            (System.nanoTime() - start) / 1e9);
      }
    }
    OriginServer server = new OriginServer(root, listen, port);
    System.out.println(server.url(name));
    System.out.flush();
    Path generatedDir = removeRoot ? root : null;
    return Service.runUntilStopped("origin", () -> {
      server.close();
      System.err.printf("origin: served %d body bytes in %d requests%n", server.bytesSent(), server.requests());
      if (generatedDir != null) {
        FileTrees.delete(generatedDir);
      }
    });
  }
}
