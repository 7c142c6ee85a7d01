package io.dfly.scheduler.resource;

import java.util.Arrays;

/**
 * The piece numbers a peer holds. Unlike {@link java.util.BitSet} it weighs the pieces one set
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

  /**
   * Pieces in this set that {@code other} lacks, each weighing its {@code rarity} (1 / peers of
   * the task holding it, see {@link Task#rarity()}): a piece few peers hold is worth more, since
   * the child can get it from fewer parents.
   */
  public double rarityMissingFrom(PieceSet other, double[] rarity) {
    double sum = 0;
    for (int i = 0; i < words.length; i++) {
      long missing = words[i] & ~(i < other.words.length ? other.words[i] : 0);
      while (missing != 0) {
        sum += rarity[i << 6 | Long.numberOfTrailingZeros(missing)];
        missing &= missing - 1;
      }
    }
    return sum;
  }

  /** Calls {@code action} with every piece number in the set, in order. */
  public void forEach(java.util.function.IntConsumer action) {
    for (int i = 0; i < words.length; i++) {
      long word = words[i];
      while (word != 0) {
        action.accept(i << 6 | Long.numberOfTrailingZeros(word));
        word &= word - 1;
      }
    }
  }
}
