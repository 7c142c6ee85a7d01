package io.dfly.dfget;

import io.dfly.daemon.local.LocalApi;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One cached download through dfget's real code against a stand-in daemon on loopback. The
 * launcher runs it once per installation with the JVM recording its start-up cache, so the cache
 * holds the classes of a download through the daemon whatever dfget's first real run is.
 */
final class StartUpTraining {
  /** The only argument of a training run. */
  static final String FLAG = "--start-up-training";

  private StartUpTraining() {}

  static int run() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("dfget-training");
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread daemon = Thread.ofVirtual().start(() -> answerOnce(server));
      int exit = DfgetMain.run("http://127.0.0.1/start-up-training", "-O", dir.resolve("out").toString(),
          "--daemon", "127.0.0.1:" + server.getLocalPort(), "--no-progress");
      daemon.join();
      return exit;
    } finally {
      Files.deleteIfExists(dir.resolve("out"));
      Files.deleteIfExists(dir);
    }
  }

  /** Reads one request and answers as a daemon with a cache hit would: a progress frame, a result. */
  private static void answerOnce(ServerSocket server) {
    try (Socket socket = server.accept()) {
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      StringBuilder request = new StringBuilder();
      while (!request.toString().contains("\r\n\r\n")) {
        int n = in.read(buffer);
        if (n < 0) {
          return;
        }
        request.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      }
      OutputStream out = socket.getOutputStream();
      out.write("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      DataOutputStream frames = new DataOutputStream(out);
      frames.writeByte(LocalApi.PROGRESS);
      frames.writeInt(16);
      frames.writeLong(0);
      frames.writeLong(0);
      byte[] result = new LocalApi.Form().add("task-id", "training").add("content-length", 0).add("cache-hit", true)
          .add("from-origin", 0).add("from-seed-peers", 0).add("from-peers", 0).toString()
          .getBytes(StandardCharsets.UTF_8);
      frames.writeByte(LocalApi.RESULT);
      frames.writeInt(result.length);
      frames.write(result);
      frames.flush();
    } catch (IOException e) {
      // dfget reports what it saw; the training only needs it to have run
    }
  }
}
