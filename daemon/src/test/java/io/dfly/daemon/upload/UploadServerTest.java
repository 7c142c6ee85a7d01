package io.dfly.daemon.upload;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.daemon.storage.PieceStore;
import io.dfly.daemon.storage.TaskStore;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UploadServerTest {
  @TempDir
  Path dataDir;

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<byte[]> get(int port, String path, String range) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    if (range != null) {
      request.header("Range", range);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void servesFinishedPiecesByRangeAndNothingElse() throws Exception {
    byte[] content = new byte[3000];
    new Random(3).nextBytes(content);
    try (PieceStore pieces = new PieceStore(dataDir);
        UploadServer server = new UploadServer("127.0.0.1", 0, pieces)) {
      TaskStore task = pieces.open("abc");
      task.setLayout(3000, 1024);
      task.markFinished(task.readPiece(new ByteArrayInputStream(content, 1024, 1024), 1, 1024, 1024, true));
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
    }
  }
}
