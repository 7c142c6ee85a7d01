package io.dfly.daemon.storage;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.TrafficStat;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.Collection;
import java.util.List;

/**
 * What a task's directory records beside its data, as JSON: the layout, the verified pieces,
 * whether every piece is here, and the download request so that an unfinished task can be
 * resumed after a restart. Only pieces whose bytes were forced to disk before the write are
 * listed, so the file never claims bytes a crash could have lost.
 *
 * @param download the request, protobuf bytes in base64; empty for imported files
 * @param pinned kept by garbage collection until deleted explicitly (dfcache imports)
 * @param dataModifiedMillis the data file's mtime when the task completed: a later change means
 *     someone wrote to it (through a hard-linked output) and the copy is no longer trusted
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record TaskMetadata(long contentLength, long pieceLength, List<PieceRecord> pieces,
    long fromOrigin, long fromSeedPeers, long fromPeers, boolean complete, String download, boolean pinned,
    long dataModifiedMillis) {
  static final String FILE_NAME = "metadata.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  record PieceRecord(int number, long offset, long length, String digest) {
    Piece toPiece() {
      return Piece.newBuilder().setNumber(number).setOffset(offset).setLength(length)
          .setDigest(digest).build();
    }
  }

  static TaskMetadata of(long contentLength, long pieceLength, Collection<Piece> pieces, TrafficStat traffic,
      boolean complete, Download download, boolean pinned, long dataModifiedMillis) {
    List<PieceRecord> records = pieces.stream()
        .map(p -> new PieceRecord(p.getNumber(), p.getOffset(), p.getLength(), p.getDigest()))
        .toList();
    return new TaskMetadata(contentLength, pieceLength, records,
        traffic.getFromOrigin(), traffic.getFromSeedPeers(), traffic.getFromPeers(), complete,
        download == null ? "" : Base64.getEncoder().encodeToString(download.toByteArray()), pinned,
        dataModifiedMillis);
  }

  TrafficStat traffic() {
    return TrafficStat.newBuilder().setFromOrigin(fromOrigin).setFromSeedPeers(fromSeedPeers)
        .setFromPeers(fromPeers).build();
  }

  /** The download request, or null when none was recorded. */
  Download downloadRequest() throws IOException {
    if (download == null || download.isEmpty()) {
      return null;
    }
    try {
      return Download.parseFrom(Base64.getDecoder().decode(download));
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      throw new IOException("bad download record: " + e.getMessage(), e);
    }
  }

  static TaskMetadata read(Path file) throws IOException {
    return JSON.readValue(file.toFile(), TaskMetadata.class);
  }

  /**
   * Written to a temporary file, forced, and renamed, so that a crash leaves either the old or
   * the new metadata, never half of one.
   */
  void write(Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    byte[] bytes = JSON.writeValueAsBytes(this);
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      out.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
