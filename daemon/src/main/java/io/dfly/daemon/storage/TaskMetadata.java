package io.dfly.daemon.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.dfdaemon.v1.TrafficStat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.List;

/** What a finished task's directory records beside its data, as JSON. */
record TaskMetadata(long contentLength, long pieceLength, List<PieceRecord> pieces,
    long fromOrigin, long fromSeedPeers, long fromPeers) {
  static final String FILE_NAME = "metadata.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  record PieceRecord(int number, long offset, long length, String digest) {
    Piece toPiece() {
      return Piece.newBuilder().setNumber(number).setOffset(offset).setLength(length)
          .setDigest(digest).build();
    }
  }

  static TaskMetadata of(long contentLength, long pieceLength, Collection<Piece> pieces, TrafficStat traffic) {
    List<PieceRecord> records = pieces.stream()
        .map(p -> new PieceRecord(p.getNumber(), p.getOffset(), p.getLength(), p.getDigest()))
        .toList();
    return new TaskMetadata(contentLength, pieceLength, records,
        traffic.getFromOrigin(), traffic.getFromSeedPeers(), traffic.getFromPeers());
  }

  TrafficStat traffic() {
    return TrafficStat.newBuilder().setFromOrigin(fromOrigin).setFromSeedPeers(fromSeedPeers)
        .setFromPeers(fromPeers).build();
  }

  static TaskMetadata read(Path file) throws IOException {
    return JSON.readValue(file.toFile(), TaskMetadata.class);
  }

  /** Written to a temporary file and renamed, so a crash never leaves half a metadata file. */
  void write(Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    JSON.writeValue(tmp.toFile(), this);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
