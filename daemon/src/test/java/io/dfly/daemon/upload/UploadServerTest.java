package io.dfly.daemon.upload;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.common.auth.ClusterToken;
import io.dfly.common.limit.RateLimiter;
import io.dfly.daemon.storage.PageCache;
import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UploadServerTest {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  @TempDir
  Path dataDir;

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<byte[]> get(int port, String path, String range) throws Exception {
    return get(port, path, range, null);
  }

  private HttpResponse<byte[]> get(int port, String path, String range, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    if (range != null) {
      request.header("Range", range);
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static byte[] randomBytes(int length, long seed) {
    byte[] bytes = new byte[length];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** A task of one finished piece holding all of {@code content}. */
  private static void storeWhole(PieceStore pieces, String taskId, byte[] content) throws IOException {
    TaskStore task = pieces.open(taskId);
    task.setLayout(content.length, content.length);
    task.markFinished(task.readPiece(Channels.newChannel(new ByteArrayInputStream(content)), 0, 0,
        content.length, true));
  }

  /** Waits for the server's bookkeeping, which may trail the client seeing the last byte. */
  private static void awaitValue(LongSupplier actual, long expected) throws InterruptedException {
    for (int i = 0; i < 500 && actual.getAsLong() != expected; i++) {
      Thread.sleep(10);
    }
    assertThat(actual.getAsLong()).isEqualTo(expected);
  }

  @Test
  void servesFinishedPiecesByRangeAndNothingElse() throws Exception {
    byte[] content = randomBytes(3000, 3);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces, new RateLimiter(0), 200, UploadServer.UploadListener.NONE, ClusterToken.of(null, null))) {
      TaskStore task = pieces.open("abc");
      task.setLayout(3000, 1024);
      task.markFinished(task.readPiece(Channels.newChannel(new ByteArrayInputStream(content, 1024, 1024)),
          1, 1024, 1024, true));
      int port = server.port();

      HttpResponse<byte[]> piece = get(port, "/tasks/abc/data", "bytes=1024-2047");
      assertThat(piece.statusCode()).isEqualTo(206);
      assertThat(piece.headers().firstValue("Content-Range")).hasValue("bytes 1024-2047/3000");
      assertThat(piece.body()).isEqualTo(Arrays.copyOfRange(content, 1024, 2048));

      assertThat(get(port, "/tasks/abc/data", "bytes=0-1023").statusCode()).isEqualTo(404);
      assertThat(get(port, "/tasks/abc/data", "bytes=5000-6000").statusCode()).isEqualTo(416);
      assertThat(get(port, "/tasks/abc/data", null).statusCode()).isEqualTo(400);
      assertThat(get(port, "/tasks/nope/data", "bytes=0-1").statusCode()).isEqualTo(404);
      assertThat(get(port, "/other", "bytes=0-1").statusCode()).isEqualTo(404);
      awaitValue(server::uploadedBytes, 1024);
      awaitValue(server::activeUploads, 0);
    }
  }

  @Test
  void withAClusterTokenOnlyRequestsCarryingItGetPieces() throws Exception {
    byte[] content = randomBytes(2048, 5);
    ClusterToken token = ClusterToken.of("s3cret", null);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces, new RateLimiter(0), 200,
            UploadServer.UploadListener.NONE, token)) {
      TaskStore task = pieces.open("tok");
      task.setLayout(2048, 2048);
      task.markFinished(task.readPiece(Channels.newChannel(new ByteArrayInputStream(content)), 0, 0, 2048, true));
      int port = server.port();
      assertThat(get(port, "/tasks/tok/data", "bytes=0-2047").statusCode()).isEqualTo(401);
      assertThat(get(port, "/tasks/tok/data", "bytes=0-2047", "Bearer wrong").statusCode()).isEqualTo(401);
      HttpResponse<byte[]> piece = get(port, "/tasks/tok/data", "bytes=0-2047", token.headerValue());
      assertThat(piece.statusCode()).isEqualTo(206);
      assertThat(piece.body()).isEqualTo(content);
    }
  }

  @Test
  void aDirectIoStoreIsServedPastThePageCacheWithOrWithoutARate() throws Exception {
    byte[] content = randomBytes((1 << 20) + 5000, 6); // ends mid-block
    Assumptions.assumeFalse(Set.of("tmpfs", "ramfs").contains(Files.getFileStore(dataDir).type()),
        "direct I/O needs a disk; the temp dir is in memory");
    for (long rate : new long[] {0, 8 * 1024 * 1024}) {
      Path dir = Files.createTempDirectory(dataDir, "direct");
      try (PieceStore pieces = new PieceStore(dir, true);
          UploadServer server = new UploadServer("127.0.0.1", 0, pieces, new RateLimiter(rate), 4,
              UploadServer.UploadListener.NONE, ClusterToken.of(null, null))) {
        storeWhole(pieces, "dio", content);
        assertThat(pieces.find("dio").directAlignment()).isPositive();
        HttpResponse<byte[]> whole = get(server.port(), "/tasks/dio/data", "bytes=0-" + (content.length - 1));
        assertThat(whole.statusCode()).isEqualTo(206);
        assertThat(whole.body()).as("rate %d", rate).isEqualTo(content);
        // Whole blocks were read past the page cache: only the ragged end's blocks are in it,
        // not the whole MiB. Checked before the ragged range below, whose sendfile reads ahead
        // as far as the device's read_ahead_kb, which differs from machine to machine.
        awaitValue(server::activeUploads, 0);
        assertThat(PageCache.cachedBytes(pieces.find("dio").dataPath())).isLessThanOrEqualTo(64 * 1024);
        // A range that starts mid-block is served too (by sendfile).
        HttpResponse<byte[]> ragged = get(server.port(), "/tasks/dio/data", "bytes=100-5099");
        assertThat(ragged.body()).isEqualTo(Arrays.copyOfRange(content, 100, 5100));
        awaitValue(server::uploadedBytes, content.length + 5000);
        awaitValue(server::activeUploads, 0);
      }
    }
  }

  @Test
  void rateLimitedUploadTakesItsTimeAndArrivesIntact() throws Exception {
    long rate = 2 * 1024 * 1024;
    byte[] content = randomBytes(3 * 1024 * 1024, 4);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces, new RateLimiter(rate), 4, UploadServer.UploadListener.NONE, ClusterToken.of(null, null))) {
      storeWhole(pieces, "big", content);
      long start = System.nanoTime();
      HttpResponse<byte[]> response = get(server.port(), "/tasks/big/data", "bytes=0-" + (content.length - 1));
      long elapsed = System.nanoTime() - start;

      assertThat(response.statusCode()).isEqualTo(206);
      assertThat(response.body()).isEqualTo(content);
      long burst = rate * RateLimiter.DEFAULT_BURST.toNanos() / NANOS_PER_SECOND;
      assertThat(elapsed).isGreaterThanOrEqualTo((content.length - burst) * NANOS_PER_SECOND / rate);
      awaitValue(server::uploadedBytes, content.length);
      awaitValue(server::activeUploads, 0);
    }
  }

  @Test
  void uploadsBeyondTheCapAreRefusedUntilASlotIsFreedByAbortOrCompletion() throws Exception {
    byte[] content = randomBytes(256 * 1024, 5);
    // So slow that the first upload waits over 10 s for its first chunk: only noticing the
    // hang-up frees its slot in time.
    RateLimiter rate = new RateLimiter(1024);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces, rate, 1, UploadServer.UploadListener.NONE, ClusterToken.of(null, null))) {
      storeWhole(pieces, "t", content);
      int port = server.port();
      String whole = "bytes=0-" + (content.length - 1);
      try (Socket holder = new Socket("127.0.0.1", port)) {
        holder.getOutputStream().write(("GET /tasks/t/data HTTP/1.1\r\nHost: x\r\nRange: " + whole + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        assertThat(readHead(holder.getInputStream())).startsWith("http/1.1 206");

        HttpResponse<byte[]> refused = get(port, "/tasks/t/data", "bytes=0-1023");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(new String(refused.body(), StandardCharsets.UTF_8)).containsOnlyOnce("\n").endsWith("\n");
        assertThat(server.activeUploads()).isEqualTo(1);
      }
      // The holder hung up mid-transfer, while its upload waited for the limiter.
      awaitValue(server::activeUploads, 0);

      rate.setRate(0);
      for (int i = 0; i < 2; i++) {
        HttpResponse<byte[]> served = get(port, "/tasks/t/data", whole);
        assertThat(served.statusCode()).isEqualTo(206);
        assertThat(served.body()).isEqualTo(content);
        awaitValue(server::activeUploads, 0);
      }
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderWhileRateLimited() throws Exception {
    byte[] content = randomBytes(64 * 1024, 6);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces, new RateLimiter(1024 * 1024), 1, UploadServer.UploadListener.NONE, ClusterToken.of(null, null));
        Socket socket = new Socket("127.0.0.1", server.port())) {
      storeWhole(pieces, "p", content);
      String request = "GET /tasks/p/data HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n";
      socket.getOutputStream().write((request.formatted(0, 49_999) + request.formatted(50_000, 65_535))
          .getBytes(StandardCharsets.US_ASCII));
      DataInputStream in = new DataInputStream(socket.getInputStream());
      for (int[] range : new int[][] {{0, 50_000}, {50_000, 65_536}}) {
        String head = readHead(in);
        assertThat(head).startsWith("http/1.1 206").contains("content-length: " + (range[1] - range[0]));
        byte[] body = new byte[range[1] - range[0]];
        in.readFully(body);
        assertThat(body).isEqualTo(Arrays.copyOfRange(content, range[0], range[1]));
      }
    }
  }

  /** Reads a response's status line and headers, lower-cased, leaving the body unread. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed in the response head: " + head);
      }
      head.write(b);
    }
    return head.toString(StandardCharsets.US_ASCII).toLowerCase();
  }
}
