package io.dfly.daemon.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Piece;
import io.dfly.common.fs.FileTrees;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PieceStoreTest {
  @TempDir
  Path dataDir;

  private static byte[] random(int n, long seed) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  @Test
  void piecesLandAtTheirOffsetsWithCrc32cDigests() throws IOException {
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("t1");
      task.setLayout(3000, 1024);
      byte[] content = random(3000, 1);
      // out of order, as pieces arrive from several parents
      for (int n : new int[] {2, 0, 1}) {
        int offset = n * 1024;
        int length = Math.min(1024, 3000 - offset);
        Piece piece = task.readPiece(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(content, offset, length)), n, offset, length, true);
        CRC32C crc = new CRC32C();
        crc.update(content, offset, length);
        assertThat(piece.getDigest()).isEqualTo(String.format("%08x", crc.getValue()));
        assertThat(piece.getLength()).isEqualTo(length);
        task.markFinished(piece);
      }
      assertThat(task.pieceCount()).isEqualTo(3);
      assertThat(task.finishedBytes()).isEqualTo(3000);
      assertThat(Files.readAllBytes(task.dataPath())).isEqualTo(content);
    }
  }

  @Test
  void withDirectIoPiecesStayOutOfThePageCacheAndReadBackIntact() throws Exception {
    int pieceLength = 1 << 20;
    int size = 2 * pieceLength + 12345; // the last piece ends mid-block
    byte[] content = random(size, 9);
    Assumptions.assumeFalse(Set.of("tmpfs", "ramfs").contains(Files.getFileStore(dataDir).type()),
        "direct I/O needs a disk; the temp dir is in memory");
    try (PieceStore pieces = new PieceStore(dataDir, true)) {
      TaskStore task = pieces.open("d1");
      assertThat(task.directAlignment()).as("direct I/O on the test's filesystem").isPositive();
      task.setLayout(size, pieceLength);
      for (int n : new int[] {2, 0, 1}) {
        int offset = n * pieceLength;
        int length = Math.min(pieceLength, size - offset);
        Piece piece = task.readPiece(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(content, offset, length)), n, offset, length, true);
        CRC32C crc = new CRC32C();
        crc.update(content, offset, length);
        assertThat(piece.getDigest()).isEqualTo(String.format("%08x", crc.getValue()));
        task.markFinished(piece);
      }
      // Only the blocks of the ragged end (12345 bytes) went through the page cache, not the 2 MiB.
      assertThat(PageCache.cachedBytes(task.dataPath())).isLessThanOrEqualTo(16 * 1024);

      java.nio.ByteBuffer tail = task.readDirect(2L * pieceLength, 12345);
      byte[] read = new byte[tail.remaining()];
      tail.get(read);
      TaskStore.release(tail);
      assertThat(read).isEqualTo(Arrays.copyOfRange(content, 2 * pieceLength, size));
      assertThatThrownBy(() -> task.readDirect(100, 10)).isInstanceOf(IllegalArgumentException.class);
      assertThat(Files.readAllBytes(task.dataPath())).isEqualTo(content);
    }
  }

  @Test
  void shortPieceIsAnErrorWhenExact() throws IOException {
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("t1");
      assertThatThrownBy(() -> task.readPiece(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(new byte[10])), 0, 0, 20, true))
          .hasMessageContaining("ended after 10 of 20 bytes");
      Piece last = task.readPiece(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(new byte[10])), 0, 0, 20, false);
      assertThat(last.getLength()).isEqualTo(10);
    }
  }

  @Test
  void hasRangeOnlyOverFinishedPieces() throws IOException {
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("t1");
      task.setLayout(4096, 1024);
      task.markFinished(Piece.newBuilder().setNumber(0).setOffset(0).setLength(1024).setDigest("0").build());
      task.markFinished(Piece.newBuilder().setNumber(2).setOffset(2048).setLength(1024).setDigest("0").build());
      assertThat(task.hasRange(0, 1023)).isTrue();
      assertThat(task.hasRange(2048, 3071)).isTrue();
      assertThat(task.hasRange(1000, 1100)).isFalse();
      assertThat(task.hasRange(0, 4095)).isFalse();
    }
  }

  @Test
  void layoutMustAgree() throws IOException {
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("t1");
      task.setLayout(-1, 1024);
      task.setLayout(5000, 1024);
      assertThatThrownBy(() -> task.setLayout(5000, 2048)).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> task.setLayout(6000, 1024)).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void finishedTasksSurviveARestartAndUnfinishedOnesWithoutACheckpointAreDropped() throws IOException {
    byte[] content = random(2500, 2);
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore done = pieces.open("done");
      done.setLayout(2500, 1024);
      for (int n = 0; n < 3; n++) {
        int offset = n * 1024;
        int length = Math.min(1024, 2500 - offset);
        done.markFinished(done.readPiece(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(content, offset, length)), n, offset, length, true));
      }
      done.traffic().addFromPeer(2500);
      done.markComplete();
      TaskStore partial = pieces.open("partial");
      partial.setLayout(2500, 1024);
    }
    try (PieceStore restarted = new PieceStore(dataDir)) {
      TaskStore done = restarted.find("done");
      assertThat(done).isNotNull();
      assertThat(done.isComplete()).isTrue();
      assertThat(done.pieceCount()).isEqualTo(3);
      assertThat(done.hasRange(0, 2499)).isTrue();
      assertThat(done.traffic().snapshot().getFromPeers()).isEqualTo(2500);
      assertThat(Arrays.equals(Files.readAllBytes(done.dataPath()), content)).isTrue();
      assertThat(restarted.find("partial")).isNull();
      assertThat(dataDir.resolve("tasks/partial")).doesNotExist();
    }
  }

  private static void write(TaskStore task, byte[] content, int n, int pieceLength) throws IOException {
    int offset = n * pieceLength;
    int length = Math.min(pieceLength, content.length - offset);
    task.markFinished(task.readPiece(java.nio.channels.Channels.newChannel(
        new ByteArrayInputStream(content, offset, length)), n, offset, length, true));
  }

  @Test
  void unfinishedTasksComeBackWithTheirCheckpointedPiecesAndRequest() throws IOException {
    byte[] content = random(4000, 3);
    Download request = Download.newBuilder().setUrl("http://origin/file").setTag("t").build();
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("resume");
      task.recordDownload(request);
      task.setLayout(4000, 1024);
      write(task, content, 0, 1024);
      write(task, content, 2, 1024);
      pieces.checkpointAll();
      write(task, content, 3, 1024); // after the checkpoint: the crash loses it
      Files.copy(dataDir.resolve("tasks/resume/metadata.json"), dataDir.resolve("crash-copy.json"));
    }
    // What a crash leaves: the last checkpoint, not what the clean close wrote.
    Files.copy(dataDir.resolve("crash-copy.json"), dataDir.resolve("tasks/resume/metadata.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (PieceStore restarted = new PieceStore(dataDir)) {
      TaskStore task = restarted.find("resume");
      assertThat(task.isComplete()).isFalse();
      assertThat(task.download()).isEqualTo(request);
      assertThat(task.finishedPieces()).extracting(Piece::getNumber).containsExactly(0, 2);
      assertThat(task.pieceCount()).isEqualTo(4);
      assertThat(restarted.unfinished()).containsExactly(task);
      assertThat(task.hasRange(2048, 3071)).isTrue();
      assertThat(task.hasRange(1024, 1024)).isFalse();
    }
  }

  @Test
  void aCompleteTaskWhoseDataChangedIsNoLongerIntact() throws IOException {
    byte[] content = random(1500, 4);
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("linked");
      task.setLayout(1500, 1024);
      write(task, content, 0, 1024);
      write(task, content, 1, 1024);
      task.markComplete();
      assertThat(task.isIntact()).isTrue();
      // someone appends to an output hard-linked to the store's file
      Files.write(task.dataPath(), new byte[] {1}, java.nio.file.StandardOpenOption.APPEND);
      assertThat(task.isIntact()).isFalse();
      assertThat(pieces.remove("linked")).isTrue();
      assertThat(dataDir.resolve("tasks/linked")).doesNotExist();
    }
  }

  @Test
  void afterAnUncleanShutdownOnlyPiecesThatStillVerifyAreTrusted() throws IOException {
    byte[] content = random(3000, 5);
    try (PieceStore pieces = new PieceStore(dataDir)) {
      TaskStore task = pieces.open("crashed");
      task.recordDownload(Download.newBuilder().setUrl("http://origin/crashed").build());
      task.setLayout(3000, 1024);
      for (int n = 0; n < 3; n++) {
        write(task, content, n, 1024);
      }
      task.markComplete();
    }
    // A machine crash: the marker of a clean shutdown is gone and piece 1 never reached the disk.
    Files.delete(dataDir.resolve("clean-shutdown"));
    try (java.nio.channels.FileChannel data = java.nio.channels.FileChannel.open(
        dataDir.resolve("tasks/crashed/data"), java.nio.file.StandardOpenOption.WRITE)) {
      data.write(java.nio.ByteBuffer.wrap(new byte[1024]), 1024);
    }
    try (PieceStore restarted = new PieceStore(dataDir)) {
      TaskStore task = restarted.find("crashed");
      assertThat(task.isComplete()).isFalse();
      assertThat(task.finishedPieces()).extracting(Piece::getNumber).containsExactly(0, 2);
      assertThat(restarted.unfinished()).containsExactly(task);
    }
    assertThat(dataDir.resolve("clean-shutdown")).exists();
  }

  @Test
  void aMemoryFilesystemGetsNoDirectIo() throws Exception {
    Path shm = Path.of("/dev/shm");
    Assumptions.assumeTrue(Files.isDirectory(shm) && Files.getFileStore(shm).type().equals("tmpfs"),
        "needs a tmpfs at /dev/shm");
    Path dir = Files.createTempDirectory(shm, "dfly-piece-store");
    try (PieceStore pieces = new PieceStore(dir, true)) {
      TaskStore task = pieces.open("in-memory");
      assertThat(task.directAlignment()).isZero();
    } finally {
      FileTrees.delete(dir);
    }
  }
}
