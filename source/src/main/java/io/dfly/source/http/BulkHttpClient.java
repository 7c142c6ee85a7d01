package io.dfly.source.http;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A small blocking HTTP/1.1 client for bulk GETs over plain http: keep-alive connections per
 * host, and bodies read from the socket straight into the caller's (direct) buffers. The JDK's
 * client copies every body byte through heap buffers and measured 2-4x slower than this on
 * loopback; piece transfers are this project's data path, so they get their own client. Meant
 * for virtual threads: a read blocks its thread; a watchdog closes connections that make no
 * progress for the read timeout, which fails the blocked read.
 */
public final class BulkHttpClient implements Closeable {
  private static final int HEADER_LIMIT = 64 * 1024;
  private static final int MAX_IDLE_PER_HOST = 32;

  private final Duration connectTimeout;
  private final long readTimeoutNanos;
  private final Map<String, Deque<Connection>> idle = new HashMap<>();
  private final Set<Response> open = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService watchdog;

  public BulkHttpClient(Duration connectTimeout, Duration readTimeout) {
    this.connectTimeout = connectTimeout;
    this.readTimeoutNanos = readTimeout.toNanos();
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "http-watchdog");
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(100, Math.min(1000, readTimeout.toMillis() / 4));
    watchdog.scheduleWithFixedDelay(this::closeStalled, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Sends a GET and returns once the status line and headers are in. The caller reads the body
   * from the response and closes it; a fully read body puts the connection back for reuse.
   */
  public Response get(URI uri, Map<String, String> headers) throws IOException {
    return get(uri, headers, null);
  }

  /**
   * As {@link #get(URI, Map)}, and {@code cancel} (may be null) can end the request from another
   * thread at any point: sending, waiting for the head, or reading the body.
   */
  public Response get(URI uri, Map<String, String> headers, Cancel cancel) throws IOException {
    if (!"http".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("not an http URL: " + uri);
    }
    String host = uri.getHost();
    int port = uri.getPort() > 0 ? uri.getPort() : 80;
    String key = host + ":" + port;
    StringBuilder request = new StringBuilder(256)
        .append("GET ").append(uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath());
    if (uri.getRawQuery() != null) {
      request.append('?').append(uri.getRawQuery());
    }
    request.append(" HTTP/1.1\r\nHost: ").append(uri.getRawAuthority()).append("\r\n");
    boolean userAgent = false;
    for (Map.Entry<String, String> h : headers.entrySet()) {
      request.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
      userAgent |= h.getKey().equalsIgnoreCase("User-Agent");
    }
    if (!userAgent) {
      request.append("User-Agent: dfly\r\n");
    }
    request.append("\r\n");
    byte[] bytes = request.toString().getBytes(StandardCharsets.ISO_8859_1);

    // A pooled connection may have been closed by the server while idle: retry once on a new one.
    Connection reused = takeIdle(key);
    if (reused != null) {
      try {
        return exchange(reused, bytes, cancel);
      } catch (IOException e) {
        reused.close();
        if (cancel != null && cancel.isCancelled()) {
          throw e;
        }
      }
    }
    return exchange(connect(key, host, port), bytes, cancel);
  }

  private Response exchange(Connection connection, byte[] request, Cancel cancel) throws IOException {
    if (cancel != null) {
      cancel.attach(connection);
    }
    Response response = new Response(this, connection, cancel);
    open.add(response);
    try {
      ByteBuffer out = ByteBuffer.wrap(request);
      while (out.hasRemaining()) {
        connection.channel.write(out);
      }
      response.readHead();
      return response;
    } catch (IOException | RuntimeException e) {
      open.remove(response);
      connection.close();
      throw e;
    }
  }

  private Connection connect(String key, String host, int port) throws IOException {
    SocketChannel channel = SocketChannel.open();
    try {
      channel.socket().connect(new InetSocketAddress(host, port), (int) connectTimeout.toMillis());
      channel.socket().setTcpNoDelay(true);
    } catch (SocketTimeoutException e) {
      channel.close();
      throw new SocketTimeoutException("connect to " + key + " timed out");
    } catch (IOException e) {
      channel.close();
      throw e;
    }
    return new Connection(key, channel);
  }

  private synchronized Connection takeIdle(String key) {
    Deque<Connection> connections = idle.get(key);
    return connections == null ? null : connections.pollFirst();
  }

  private synchronized void release(Connection connection) {
    Deque<Connection> connections = idle.computeIfAbsent(connection.key, k -> new ArrayDeque<>());
    if (connections.size() < MAX_IDLE_PER_HOST) {
      connections.addFirst(connection);
    } else {
      connection.close();
    }
  }

  private void closeStalled() {
    long now = System.nanoTime();
    for (Response response : open) {
      if (now - response.lastProgress > readTimeoutNanos) {
        response.timedOut = true;
        response.connection.close();
      }
    }
  }

  @Override
  public void close() {
    watchdog.shutdownNow();
    synchronized (this) {
      idle.values().forEach(q -> q.forEach(Connection::close));
      idle.clear();
    }
    open.forEach(r -> r.connection.close());
  }

  /**
   * Ends a request from another thread: its connection is closed, so whatever the request is
   * blocked on (a write, the head, the body) fails at once, and the connection is not reused.
   */
  public static final class Cancel {
    private boolean cancelled;
    /** The request's connection while it is in use; null before and once it goes back to the pool. */
    private Connection connection;

    public synchronized void cancel() {
      cancelled = true;
      if (connection != null) {
        connection.close();
      }
    }

    public synchronized boolean isCancelled() {
      return cancelled;
    }

    private synchronized void attach(Connection current) throws IOException {
      if (cancelled) {
        current.close();
        throw new IOException("cancelled");
      }
      connection = current;
    }

    /** Lets go of the connection before it is pooled, so a late cancel cannot close it under its next user. */
    private synchronized boolean detach() {
      connection = null;
      return !cancelled;
    }
  }

  private static final class Connection {
    final String key;
    final SocketChannel channel;
    /** Bytes read past the headers (or between chunks) not yet handed out. */
    final ByteBuffer buffer = ByteBuffer.allocateDirect(HEADER_LIMIT);

    Connection(String key, SocketChannel channel) {
      this.key = key;
      this.channel = channel;
      buffer.flip();
    }

    void close() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing more to do with it
      }
    }
  }

  /** Status, headers and the body of one GET. */
  public static final class Response implements ReadableByteChannel {
    private final BulkHttpClient client;
    private final Connection connection;
    private final Map<String, String> headers = new HashMap<>();
    private int status;
    private boolean chunked;
    private boolean closeAfter;
    /** Body bytes left: of the whole body, or of the current chunk when chunked; -1 = until close. */
    private long remaining;
    private boolean ended;
    private boolean closed;
    private volatile long lastProgress = System.nanoTime();
    private volatile boolean timedOut;
    private final Cancel cancel;

    Response(BulkHttpClient client, Connection connection, Cancel cancel) {
      this.client = client;
      this.connection = connection;
      this.cancel = cancel;
    }

    public int status() {
      return status;
    }

    /** A header's value by case-insensitive name, or null. */
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** The body's length from Content-Length, or -1 when chunked or delimited by close. */
    public long contentLength() {
      String value = header("content-length");
      return chunked || value == null ? -1 : Long.parseLong(value.trim());
    }

    void readHead() throws IOException {
      String statusLine = readLine();
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP response: '" + statusLine + "'");
      }
      try {
        status = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        throw new IOException("bad status line '" + statusLine + "'");
      }
      for (String line = readLine(); !line.isEmpty(); line = readLine()) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          headers.merge(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim(),
              (a, b) -> a + ", " + b);
        }
      }
      String connectionHeader = header("connection");
      closeAfter = parts[0].equals("HTTP/1.0") || (connectionHeader != null
          && connectionHeader.toLowerCase(Locale.ROOT).contains("close"));
      String transferEncoding = header("transfer-encoding");
      chunked = transferEncoding != null && transferEncoding.toLowerCase(Locale.ROOT).contains("chunked");
      if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        remaining = 0;
      } else if (chunked) {
        remaining = nextChunkSize();
      } else if (header("content-length") != null) {
        try {
          remaining = Long.parseLong(header("content-length").trim());
        } catch (NumberFormatException e) {
          throw new IOException("bad Content-Length '" + header("content-length") + "'");
        }
      } else {
        remaining = -1;
        closeAfter = true;
      }
      if (remaining == 0) {
        finish();
      }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (closed) {
        throw new java.nio.channels.ClosedChannelException();
      }
      if (ended) {
        return -1;
      }
      if (!dst.hasRemaining()) {
        return 0;
      }
      int limit = dst.limit();
      if (remaining >= 0 && remaining < dst.remaining()) {
        dst.limit(dst.position() + (int) remaining);
      }
      int n;
      try {
        ByteBuffer buffered = connection.buffer;
        if (buffered.hasRemaining()) {
          n = Math.min(buffered.remaining(), dst.remaining());
          ByteBuffer slice = buffered.slice(buffered.position(), n);
          dst.put(slice);
          buffered.position(buffered.position() + n);
        } else {
          n = readSocket(dst);
        }
      } finally {
        dst.limit(limit);
      }
      if (n < 0) {
        if (remaining < 0) {
          finish();
          return -1;
        }
        throw new IOException("connection closed with " + remaining + " body bytes still due");
      }
      lastProgress = System.nanoTime();
      if (remaining > 0) {
        remaining -= n;
        if (remaining == 0) {
          if (chunked) {
            readLine(); // the CRLF after the chunk
            remaining = nextChunkSize();
          }
          if (remaining == 0) {
            finish();
          }
        }
      }
      return n;
    }

    private int readSocket(ByteBuffer dst) throws IOException {
      try {
        return connection.channel.read(dst);
      } catch (IOException e) {
        if (timedOut) {
          throw new SocketTimeoutException("no data for " + client.readTimeoutNanos / 1_000_000_000 + " s");
        }
        throw e;
      }
    }

    private long nextChunkSize() throws IOException {
      String line = readLine();
      int semicolon = line.indexOf(';');
      String hex = (semicolon >= 0 ? line.substring(0, semicolon) : line).trim();
      long size;
      try {
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new IOException("bad chunk size '" + line + "'");
      }
      if (size == 0) {
        while (!readLine().isEmpty()) {
          // trailers are ignored
        }
      }
      return size;
    }

    /** One CRLF-terminated line through the connection buffer. */
    private String readLine() throws IOException {
      StringBuilder line = new StringBuilder();
      ByteBuffer buffer = connection.buffer;
      while (true) {
        while (buffer.hasRemaining()) {
          byte b = buffer.get();
          if (b == '\n') {
            int end = line.length();
            if (end > 0 && line.charAt(end - 1) == '\r') {
              line.setLength(end - 1);
            }
            return line.toString();
          }
          line.append((char) (b & 0xff));
          if (line.length() > HEADER_LIMIT) {
            throw new IOException("header line longer than " + HEADER_LIMIT + " bytes");
          }
        }
        buffer.clear();
        int n;
        try {
          n = readSocket(buffer);
        } finally {
          buffer.flip();
        }
        if (n < 0) {
          throw new IOException("connection closed by the server");
        }
        lastProgress = System.nanoTime();
      }
    }

    private void finish() {
      ended = true;
    }

    @Override
    public boolean isOpen() {
      return !closed;
    }

    /** Returns the connection to the pool when the body was read to its end, else drops it. */
    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      client.open.remove(this);
      if (ended && !closeAfter && !timedOut && connection.channel.isOpen() && (cancel == null || cancel.detach())) {
        client.release(connection);
      } else {
        connection.close();
      }
    }
  }
}
