package io.dfly.daemon.peer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * The order in which missing pieces are asked for: the first few strictly in order, since a
 * reader streaming the file or waiting on a range needs them next; the rest rarest first (fewest
 * parents hold them), so that pieces few parents have spread through the swarm before those
 * many do, and no parent becomes the only source of a piece everyone needs.
 */
final class PieceOrder {
  private PieceOrder() {}

  /**
   * @param missing pieces to fetch, ascending
   * @param holders how many parents hold a piece
   * @param inOrder how many of the lowest pieces go first regardless of rarity
   */
  static List<Integer> order(List<Integer> missing, IntUnaryOperator holders, int inOrder) {
    int window = Math.min(missing.size(), inOrder);
    List<Integer> ordered = new ArrayList<>(missing.size());
    ordered.addAll(missing.subList(0, window));
    List<Integer> rest = new ArrayList<>(missing.subList(window, missing.size()));
    int[] count = new int[rest.size()];
    for (int i = 0; i < rest.size(); i++) {
      count[i] = holders.applyAsInt(rest.get(i));
    }
    List<Integer> indexes = new ArrayList<>(rest.size());
    for (int i = 0; i < rest.size(); i++) {
      indexes.add(i);
    }
    // Stable sort by holder count keeps ascending piece numbers among equally rare pieces.
    indexes.sort(Comparator.comparingInt(i -> count[i]));
    for (int i : indexes) {
      ordered.add(rest.get(i));
    }
    return ordered;
  }
}
