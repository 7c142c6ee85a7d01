package io.dfly.scheduler.resource;

import java.util.Arrays;

/**
 * The piece numbers a peer holds. Unlike {@link java.util.BitSet} it counts the pieces one set
 * has and another lacks without allocating, which the parent evaluator does for every candidate.
 */
public final class PieceSet {
  private long[] words = new long[4];
  private int count;

  /** Adds a piece; true when it was not there yet. */
  public boolean add(int number) {
    if (number < 0) {
      throw new IllegalArgumentException("piece number " + number);
    }
    int word = number >>> 6;
    if (word >= words.length) {
      words = Arrays.copyOf(words, Math.max(words.length * 2, word + 1));
    }
    long bit = 1L << number;
    if ((words[word] & bit) != 0) {
      return false;
    }
    words[word] |= bit;
    count++;
    return true;
  }

  public void addAll(PieceSet other) {
    if (other.words.length > words.length) {
      words = Arrays.copyOf(words, other.words.length);
    }
    count = 0;
    for (int i = 0; i < words.length; i++) {
      if (i < other.words.length) {
        words[i] |= other.words[i];
      }
      count += Long.bitCount(words[i]);
    }
  }

  public boolean contains(int number) {
    int word = number >>> 6;
    return number >= 0 && word < words.length && (words[word] & (1L << number)) != 0;
  }

  public int count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /** Pieces in this set that {@code other} lacks. */
  public int countMissingFrom(PieceSet other) {
    int missing = 0;
    for (int i = 0; i < words.length; i++) {
      long theirs = i < other.words.length ? other.words[i] : 0;
      missing += Long.bitCount(words[i] & ~theirs);
    }
    return missing;
  }
}
