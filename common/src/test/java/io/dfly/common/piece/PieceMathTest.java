package io.dfly.common.piece;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PieceMathTest {
  private static final long MIB = 1 << 20;

  @Test
  void pieceLengthAimsAtAbout256PiecesWithinBounds() {
    assertThat(PieceMath.pieceLength(0)).isEqualTo(MIB);
    assertThat(PieceMath.pieceLength(10 * MIB)).isEqualTo(MIB);
    assertThat(PieceMath.pieceLength(256 * MIB)).isEqualTo(MIB);
    assertThat(PieceMath.pieceLength(256 * MIB + 1)).isEqualTo(2 * MIB);
    assertThat(PieceMath.pieceLength(1024 * MIB)).isEqualTo(4 * MIB);
    assertThat(PieceMath.pieceLength(3000 * MIB)).isEqualTo(16 * MIB);
    assertThat(PieceMath.pieceLength(1L << 40)).isEqualTo(16 * MIB);
    assertThat(PieceMath.pieceLength(-1)).isEqualTo(4 * MIB);
  }

  @Test
  void pieceLengthIsAPowerOfTwo() {
    for (long length = 1; length < (1L << 36); length = length * 3 + 7) {
      assertThat(Long.bitCount(PieceMath.pieceLength(length))).isEqualTo(1);
    }
  }

  @Test
  void countOffsetsAndTheShortLastPiece() {
    long content = 10 * MIB + 5;
    long piece = PieceMath.pieceLength(content);
    int count = PieceMath.pieceCount(content, piece);
    assertThat(count).isEqualTo(11);
    assertThat(PieceMath.offset(10, piece)).isEqualTo(10 * MIB);
    assertThat(PieceMath.length(9, piece, content)).isEqualTo(MIB);
    assertThat(PieceMath.length(10, piece, content)).isEqualTo(5);
    long sum = 0;
    for (int n = 0; n < count; n++) {
      sum += PieceMath.length(n, piece, content);
    }
    assertThat(sum).isEqualTo(content);
    assertThat(PieceMath.pieceCount(0, piece)).isZero();
    assertThat(PieceMath.pieceCount(2 * MIB, MIB)).isEqualTo(2);
  }

  @Test
  void pieceOutsideTheTaskIsRefused() {
    assertThatThrownBy(() -> PieceMath.length(2, MIB, 2 * MIB)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PieceMath.pieceCount(-1, MIB)).isInstanceOf(IllegalArgumentException.class);
  }
}
