package io.dfly.daemon.local;

import io.dfly.common.net.HostPort;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Calls the local dfdaemon's {@link LocalApi}: one request per connection. Uses only
 * {@code java.base}, so a short-lived client pays nothing for gRPC, Netty or protobuf.
 */
public final class LocalApiClient {
  private static final int CONNECT_MILLIS = 2000;
  private static final int MAX_ERROR_BODY = 64 << 10;

  /** What a call hears while it waits for the result. */
  public interface Listener {
    Listener NONE = new Listener() {};

    default void progress(long completedLength, long contentLength) {}

    /** Content bytes, in order: read exactly {@code length} bytes from {@code in}. */
    default void data(InputStream in, int length) throws IOException {
      in.skipNBytes(length);
    }
  }

  /** The daemon answered with an error. */
  public static final class DaemonError extends Exception {
    private final LocalApi.ErrorKind kind;

    public DaemonError(LocalApi.ErrorKind kind, String message) {
      super(message);
      this.kind = kind;
    }

    public LocalApi.ErrorKind kind() {
      return kind;
    }
  }

  private LocalApiClient() {}

  /**
   * Sends {@code form} to {@code path} of the daemon at {@code daemon} (HOST:PORT) and returns the
   * result's fields. Throws {@link java.net.ConnectException} when no daemon listens there and
   * {@link java.net.SocketTimeoutException} when {@code timeoutMillis} (0: none) passes first.
   */
  public static Map<String, String> call(String daemon, String path, LocalApi.Form form, Listener listener,
      long timeoutMillis) throws IOException, DaemonError {
    HostPort address = HostPort.parse(daemon);
    long deadline = timeoutMillis > 0 ? System.nanoTime() + timeoutMillis * 1_000_000 : 0;
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(address.host(), address.port()), CONNECT_MILLIS);
      byte[] body = form.toString().getBytes(StandardCharsets.UTF_8);
      OutputStream out = socket.getOutputStream();
      out.write(("POST " + path + " HTTP/1.1\r\nHost: " + daemon
          + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
      awaitReadable(socket, deadline);
      int status = readStatus(in);
      if (status != 200) {
        String message = new String(in.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8).trim();
        throw new DaemonError(status == 400 ? LocalApi.ErrorKind.BAD_REQUEST : LocalApi.ErrorKind.FAILED,
            "the daemon answered " + status + (message.isEmpty() ? "" : ": " + message));
      }
      while (true) {
        awaitReadable(socket, deadline);
        byte type;
        int length;
        try {
          type = in.readByte();
          length = in.readInt();
        } catch (EOFException e) {
          throw new IOException("the daemon closed the connection without a result");
        }
        if (length < 0 || length > LocalApi.MAX_FRAME) {
          throw new IOException("the daemon sent a frame of " + length + " bytes");
        }
        switch (type) {
          case LocalApi.PROGRESS -> listener.progress(in.readLong(), in.readLong());
          case LocalApi.DATA -> listener.data(in, length);
          case LocalApi.RESULT -> {
            return single(LocalApi.decode(text(in, length)));
          }
          case LocalApi.ERROR -> {
            Map<String, String> error = single(LocalApi.decode(text(in, length)));
            throw new DaemonError(LocalApi.ErrorKind.ofWireName(error.getOrDefault("kind", "")),
                error.getOrDefault("message", "unknown error"));
          }
          default -> throw new IOException("the daemon sent a frame of unknown type " + type);
        }
      }
    }
  }

  /** Reads wait at most until the deadline: the socket's read timeout is what is left of it. */
  private static void awaitReadable(Socket socket, long deadline) throws IOException {
    if (deadline != 0) {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        throw new java.net.SocketTimeoutException("deadline passed");
      }
      socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
    }
  }

  private static int readStatus(DataInputStream in) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an answer from a dfdaemon: '" + statusLine + "'");
    }
    while (!line(in).isEmpty()) {
      // headers: the body runs to the connection's close
    }
    try {
      return Integer.parseInt(parts[1]);
    } catch (NumberFormatException e) {
      throw new IOException("not an answer from a dfdaemon: '" + statusLine + "'");
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0) {
        throw new EOFException("the daemon closed the connection");
      }
      if (c != '\r') {
        line.append((char) c);
      }
      if (line.length() > 8192) {
        throw new IOException("the daemon sent an over-long header line");
      }
    }
    return line.toString();
  }

  private static String text(DataInputStream in, int length) throws IOException {
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static Map<String, String> single(Map<String, List<String>> fields) {
    Map<String, String> single = new LinkedHashMap<>();
    fields.forEach((key, values) -> single.put(key, values.getFirst()));
    return single;
  }
}
