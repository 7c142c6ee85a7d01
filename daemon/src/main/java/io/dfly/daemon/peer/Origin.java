package io.dfly.daemon.peer;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Piece;
import io.dfly.common.limit.RateLimiter;
import io.dfly.common.net.ByteRange;
import io.dfly.daemon.storage.TaskStore;
import io.dfly.source.SourceClient;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import io.dfly.daemon.storage.StoreWriteException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.net.URI;
import java.util.concurrent.BlockingQueue;

/**
 * A task's origin, fetched back-to-source. A one-byte range probe tells the content length and
 * whether the origin serves ranges; with ranges, pieces are fetched like from any parent (a few
 * at once); without, one stream is cut into pieces in order.
 */
final class Origin {
  private final SourceClient client;
  private final SourceRequest whole;
  private final TaskStore store;
  private final RateLimiter limiter;
  boolean ranged;
  boolean streaming;
  int inflight;

  Origin(SourceClients sources, Download download, TaskStore store, RateLimiter limiter) {
    this.limiter = limiter;
    URI url = sources.checkUrl(download.getUrl());
    this.client = sources.forUrl(url);
    this.whole = SourceRequest.whole(url, download.getHeadersMap());
    this.store = store;
  }

  void probe(BlockingQueue<PeerEvent> events) {
    Thread.ofVirtual().start(() -> {
      try {
        SourceResponse first = openProbe();
        if (first.ranged() && first.totalLength() >= 0) {
          first.close();
          events.add(new PeerEvent.OriginProbed(first.totalLength(), null));
        } else if (first.ranged()) { // a range without a total: read it all in one go
          first.close();
          SourceResponse all = client.open(whole);
          events.add(new PeerEvent.OriginProbed(all.totalLength(), all));
        } else { // the origin ignored the range and sends everything now
          events.add(new PeerEvent.OriginProbed(first.totalLength(), first));
        }
      } catch (SourceException e) {
        events.add(new PeerEvent.OriginFailed(e.getMessage()));
      }
    });
  }

  private SourceResponse openProbe() throws SourceException {
    try {
      return client.open(whole.withRange(new ByteRange(0, 0)));
    } catch (SourceException e) {
      if (e.statusCode() == 416) { // an empty file has no byte 0
        return client.open(whole);
      }
      throw e;
    }
  }

  /** Fetches one piece by range. */
  void fetch(int number, long offset, long length, BlockingQueue<PeerEvent> events) {
    long start = System.nanoTime();
    try (SourceResponse response = client.open(whole.withRange(new ByteRange(offset, offset + length - 1)))) {
      if (!response.ranged()) {
        throw new SourceException("origin stopped serving ranges", 0);
      }
      Piece piece = store.readPiece(response.body(), number, offset, length, true, limiter);
      events.add(new PeerEvent.PieceFetched(piece, null, System.nanoTime() - start));
    } catch (StoreWriteException e) {
      events.add(new PeerEvent.StoreFailed(number, e.getMessage()));
    } catch (IOException e) {
      events.add(new PeerEvent.PieceFetchFailed(number, null, "origin: " + e.getMessage(), PeerEvent.Fault.FAILED));
    }
  }

  /** Cuts the whole-content stream into pieces, in order; pieces others are writing are skipped. */
  void streamAll(SourceResponse response, long pieceLength, PieceClaims claims, BlockingQueue<PeerEvent> events) {
    streaming = true;
    Thread.ofVirtual().start(() -> {
      long offset = 0;
      try (response) {
        ReadableByteChannel in = response.body();
        for (int number = 0; ; number++) {
          long start = System.nanoTime();
          long got;
          if (claims.claim(number)) {
            Piece piece;
            try {
              piece = store.readPiece(in, number, offset, pieceLength, false, limiter);
            } catch (IOException e) {
              claims.release(number);
              throw e;
            }
            got = piece.getLength();
            if (got == 0) {
              claims.release(number);
            } else {
              events.add(new PeerEvent.PieceFetched(piece, null, System.nanoTime() - start));
            }
          } else {
            got = skip(in, pieceLength);
          }
          offset += got;
          if (got < pieceLength) {
            break;
          }
        }
        if (response.totalLength() >= 0 && offset != response.totalLength()) {
          events.add(new PeerEvent.OriginFailed("origin sent " + offset + " of "
              + response.totalLength() + " bytes"));
          return;
        }
        events.add(new PeerEvent.OriginStreamEnded(offset));
      } catch (StoreWriteException e) {
        events.add(new PeerEvent.StoreFailed(-1, e.getMessage()));
      } catch (IOException e) {
        events.add(new PeerEvent.OriginFailed("origin failed after " + offset + " bytes: " + e.getMessage()));
      }
    });
  }

  /** Reads and drops up to {@code n} bytes; returns how many there were. */
  private static long skip(ReadableByteChannel in, long n) throws IOException {
    ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);
    long skipped = 0;
    while (skipped < n) {
      scratch.clear().limit((int) Math.min(scratch.capacity(), n - skipped));
      int r = in.read(scratch);
      if (r < 0) {
        break;
      }
      skipped += r;
    }
    return skipped;
  }
}
