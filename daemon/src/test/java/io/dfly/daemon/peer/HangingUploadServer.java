package io.dfly.daemon.peer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A parent's upload port that takes piece requests and completes none. The first request gets no
 * byte at all, so the child's read times out: the parent stalls. With {@code trickle} content,
 * each later request gets its response head and then one byte of its range every 100 ms: such a
 * fetch never times out and does not finish within a test, so only cancelling it ends it. Without,
 * later requests hang like the first.
 */
final class HangingUploadServer implements AutoCloseable {
  private static final Duration TRICKLE_PERIOD = Duration.ofMillis(100);

  private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  private final byte[] trickle;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requests = new AtomicInteger();
  private final Thread acceptor;

  HangingUploadServer(byte[] trickle) throws IOException {
    this.trickle = trickle;
    acceptor = Thread.ofVirtual().start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** Piece requests received so far. */
  int requests() {
    return requests.get();
  }

  void awaitRequests(int count) throws InterruptedException {
    Poll.until(() -> requests.get() >= count, count + " piece requests reached the parent");
  }

  /** Waits until the child has closed every connection it opened here. */
  void awaitAllClosed() throws InterruptedException {
    Poll.until(open::isEmpty, "the child closed every connection to the parent");
  }

  private void accept() {
    try {
      while (true) {
        Socket socket = server.accept();
        open.add(socket);
        Thread.ofVirtual().start(() -> serve(socket));
      }
    } catch (IOException closed) {
      // the test is over
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
          StandardCharsets.ISO_8859_1));
      String range = null;
      for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
        if (line.toLowerCase(Locale.ROOT).startsWith("range: bytes=")) {
          range = line.substring("range: bytes=".length());
        }
      }
      if (requests.incrementAndGet() > 1 && trickle != null && range != null) {
        trickle(socket.getOutputStream(), range);
      } else {
        while (in.read() >= 0) {
          // nothing is sent; the read ends when the child closes the connection
        }
      }
    } catch (IOException | InterruptedException closed) {
      // by the child, or by close()
    } finally {
      open.remove(socket);
    }
  }

  private void trickle(OutputStream out, String range) throws IOException, InterruptedException {
    int dash = range.indexOf('-');
    int first = Integer.parseInt(range.substring(0, dash));
    int last = Integer.parseInt(range.substring(dash + 1));
    out.write(("HTTP/1.1 206 Partial Content\r\nContent-Length: " + (last - first + 1)
        + "\r\nContent-Range: bytes " + first + "-" + last + "/" + trickle.length + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    for (int i = first; i <= last; i++) {
      out.write(trickle[i]);
      out.flush();
      Thread.sleep(TRICKLE_PERIOD);
    }
  }

  @Override
  public void close() throws Exception {
    server.close();
    for (Socket socket : open) {
      socket.close();
    }
    acceptor.join();
  }
}
