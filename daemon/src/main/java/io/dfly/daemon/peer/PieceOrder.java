package io.dfly.daemon.peer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;

/**
 * The order in which missing pieces are asked for: the first few strictly in order when a
 * reader streams the file or waits on a range; the rest rarest first (fewest parents hold them),
 * so that pieces few parents have spread through the swarm before those many do. Ties break at
 * random, differently on every peer: peers that share a parent (a seed peer, early on) then ask
 * it for different pieces and can trade them, instead of all fetching the same ones.
 */
final class PieceOrder {
  private PieceOrder() {}

  /**
   * @param missing pieces to fetch, ascending
   * @param holders how many parents hold a piece
   * @param inOrder how many of the lowest pieces go first regardless of rarity
   * @param random breaks ties among equally rare pieces
   */
  static List<Integer> order(List<Integer> missing, IntUnaryOperator holders, int inOrder, Random random) {
    int window = Math.min(missing.size(), inOrder);
    List<Integer> ordered = new ArrayList<>(missing.size());
    ordered.addAll(missing.subList(0, window));
    List<Integer> rest = new ArrayList<>(missing.subList(window, missing.size()));
    Collections.shuffle(rest, random);
    // Grouped by holder count, each piece counted once (a count walks every parent), in the
    // shuffled order within a group.
    int[] counts = new int[rest.size()];
    int most = 0;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = holders.applyAsInt(rest.get(i));
      most = Math.max(most, counts[i]);
    }
    for (int holding = 0; holding <= most; holding++) {
      for (int i = 0; i < counts.length; i++) {
        if (counts[i] == holding) {
          ordered.add(rest.get(i));
        }
      }
    }
    return ordered;
  }
}
