package io.dfly.daemon.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client side of the local API against a scripted server speaking the wire format by hand. */
class LocalApiClientTest {
  private ServerSocket server;

  @AfterEach
  void close() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  /** Answers one connection with {@code answer} after reading the request; returns where the request goes. */
  private AtomicReference<String> serve(byte[] answer, long delayMillis) throws IOException {
    server = new ServerSocket(0);
    AtomicReference<String> request = new AtomicReference<>();
    Thread.ofVirtual().start(() -> {
      try (Socket socket = server.accept()) {
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[8192];
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains("\r\n\r\n") || !bodyComplete(seen.toString())) {
          int n = in.read(buffer);
          if (n < 0) {
            break;
          }
          seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
        request.set(seen.toString());
        Thread.sleep(delayMillis);
        OutputStream out = socket.getOutputStream();
        out.write(answer);
        out.flush();
      } catch (IOException | InterruptedException e) {
        // the client went away: the test looks at what the client saw
      }
    });
    return request;
  }

  private static boolean bodyComplete(String seen) {
    int headerEnd = seen.indexOf("\r\n\r\n");
    String lengthHeader = seen.lines().filter(l -> l.startsWith("Content-Length: ")).findFirst().orElse("Content-Length: 0");
    int length = Integer.parseInt(lengthHeader.substring("Content-Length: ".length()).trim());
    return seen.length() - headerEnd - 4 >= length;
  }

  private static byte[] ok(byte[]... frames) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    for (byte[] frame : frames) {
      bytes.write(frame);
    }
    return bytes.toByteArray();
  }

  private static byte[] frame(byte type, byte[] payload) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeByte(type);
    out.writeInt(payload.length);
    out.write(payload);
    return bytes.toByteArray();
  }

  private static byte[] progress(long done, long total) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeLong(done);
    out.writeLong(total);
    return frame(LocalApi.PROGRESS, bytes.toByteArray());
  }

  private String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  @Test
  void sendsTheFormAndDeliversProgressDataAndTheResultInOrder() throws Exception {
    AtomicReference<String> request = serve(ok(
        progress(5, 10),
        frame(LocalApi.DATA, "hello".getBytes(StandardCharsets.UTF_8)),
        frame(LocalApi.DATA, " world".getBytes(StandardCharsets.UTF_8)),
        frame(LocalApi.RESULT, new LocalApi.Form().add("content-length", 11).add("task-id", "t&=1").toString()
            .getBytes(StandardCharsets.UTF_8))), 0);
    List<String> events = new ArrayList<>();
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    Map<String, String> result = LocalApiClient.call(address(), LocalApi.DOWNLOAD,
        new LocalApi.Form().add("url", "http://h/a b?x=1&y=2").add("header", "A: 1").add("header", "B: 2"),
        new LocalApiClient.Listener() {
          @Override
          public void progress(long completed, long total) {
            events.add("progress " + completed + "/" + total);
          }

          @Override
          public void data(InputStream in, int length) throws IOException {
            events.add("data " + length);
            data.write(in.readNBytes(length));
          }
        }, 5000);

    assertThat(result).containsEntry("content-length", "11").containsEntry("task-id", "t&=1");
    assertThat(events).containsExactly("progress 5/10", "data 5", "data 6");
    assertThat(data.toString(StandardCharsets.UTF_8)).isEqualTo("hello world");
    String body = request.get().substring(request.get().indexOf("\r\n\r\n") + 4);
    assertThat(request.get()).startsWith("POST " + LocalApi.DOWNLOAD + " HTTP/1.1\r\n");
    assertThat(LocalApi.decode(body)).containsEntry("url", List.of("http://h/a b?x=1&y=2"))
        .containsEntry("header", List.of("A: 1", "B: 2"));
  }

  @Test
  void anErrorFrameBecomesADaemonErrorOfItsKind() throws Exception {
    serve(ok(progress(1, 2), frame(LocalApi.ERROR, new LocalApi.Form().add("kind", "no-space")
        .add("message", "disk quota reached").toString().getBytes(StandardCharsets.UTF_8))), 0);
    assertThatThrownBy(() -> LocalApiClient.call(address(), LocalApi.DOWNLOAD, new LocalApi.Form(),
        LocalApiClient.Listener.NONE, 5000))
        .isInstanceOfSatisfying(LocalApiClient.DaemonError.class, e -> {
          assertThat(e.kind()).isEqualTo(LocalApi.ErrorKind.NO_SPACE);
          assertThat(e.getMessage()).isEqualTo("disk quota reached");
        });
  }

  @Test
  void aConnectionThatEndsWithoutAResultIsAnErrorNotASuccess() throws Exception {
    byte[] truncated = ok(progress(1, 2), frame(LocalApi.DATA, new byte[100]));
    serve(java.util.Arrays.copyOf(truncated, truncated.length - 40), 0);
    assertThatThrownBy(() -> LocalApiClient.call(address(), LocalApi.DOWNLOAD, new LocalApi.Form(),
        new LocalApiClient.Listener() {
          @Override
          public void data(InputStream in, int length) throws IOException {
            in.readNBytes(new byte[length], 0, length);
          }
        }, 5000))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aHttpErrorStatusCarriesTheDaemonsMessage() throws Exception {
    serve("HTTP/1.1 404 Not Found\r\n\r\nno such call: /v1/nope\n".getBytes(StandardCharsets.US_ASCII), 0);
    assertThatThrownBy(() -> LocalApiClient.call(address(), "/v1/nope", new LocalApi.Form(),
        LocalApiClient.Listener.NONE, 5000))
        .isInstanceOf(LocalApiClient.DaemonError.class)
        .hasMessageContaining("404").hasMessageContaining("no such call");
  }

  @Test
  void aSilentDaemonTimesOutAtTheDeadline() throws Exception {
    serve(ok(), 10_000);
    long start = System.nanoTime();
    assertThatThrownBy(() -> LocalApiClient.call(address(), LocalApi.DOWNLOAD, new LocalApi.Form(),
        LocalApiClient.Listener.NONE, 300))
        .isInstanceOf(SocketTimeoutException.class);
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);
  }

  @Test
  void noDaemonIsAConnectException() throws Exception {
    int port;
    try (ServerSocket closed = new ServerSocket(0)) {
      port = closed.getLocalPort();
    }
    assertThatThrownBy(() -> LocalApiClient.call("127.0.0.1:" + port, LocalApi.STAT, new LocalApi.Form(),
        LocalApiClient.Listener.NONE, 1000))
        .isInstanceOf(ConnectException.class);
  }
}
