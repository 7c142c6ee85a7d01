package io.dfly.common.piece;

/**
 * How a task is cut into pieces. The piece length is chosen so that a task has about
 * {@value #TARGET_PIECES} pieces, rounded up to a power of two and bounded to
 * [{@value #MIN_PIECE_LENGTH}, {@value #MAX_PIECE_LENGTH}] bytes: small files still get pieces
 * small enough to pipeline through a chain of peers, huge files do not flood the scheduler
 * with piece reports. An unknown content length uses {@value #DEFAULT_PIECE_LENGTH}.
 */
public final class PieceMath {
  public static final long MIN_PIECE_LENGTH = 1L << 20;
  public static final long MAX_PIECE_LENGTH = 16L << 20;
  public static final long DEFAULT_PIECE_LENGTH = 4L << 20;
  public static final int TARGET_PIECES = 256;

  private PieceMath() {}

  public static long pieceLength(long contentLength) {
    if (contentLength < 0) {
      return DEFAULT_PIECE_LENGTH;
    }
    long wanted = (contentLength + TARGET_PIECES - 1) / TARGET_PIECES;
    long pow2 = wanted <= 1 ? 1 : Long.highestOneBit(wanted - 1) << 1;
    return Math.clamp(pow2, MIN_PIECE_LENGTH, MAX_PIECE_LENGTH);
  }

  public static int pieceCount(long contentLength, long pieceLength) {
    if (contentLength < 0) {
      throw new IllegalArgumentException("unknown content length");
    }
    return Math.toIntExact((contentLength + pieceLength - 1) / pieceLength);
  }

  public static long offset(int number, long pieceLength) {
    return number * pieceLength;
  }

  /** Length of piece {@code number}; the last piece may be short. */
  public static long length(int number, long pieceLength, long contentLength) {
    long start = offset(number, pieceLength);
    if (number < 0 || start >= contentLength) {
      throw new IllegalArgumentException(
          "piece " + number + " is outside a task of " + contentLength + " bytes");
    }
    return Math.min(pieceLength, contentLength - start);
  }
}
