package io.dfly.daemon.upload;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class SeedHandoutTest {
  private static final long PIECE = 4 << 20;
  private static final int COUNT = 40;

  private static BitSet all(int count) {
    BitSet bits = new BitSet();
    bits.set(0, count);
    return bits;
  }

  @Test
  void childrenAreOfferedDisjointPiecesUntilEveryPieceLeftOnce() {
    SeedHandout handout = new SeedHandout();
    SeedHandout.TaskHandout task = handout.task("t", PIECE, COUNT);
    BitSet have = all(COUNT);
    BitSet a = task.offer("a", have, true);
    BitSet b = task.offer("b", have, true);
    BitSet c = task.offer("c", have, true);
    assertThat(a.intersects(b) || a.intersects(c) || b.intersects(c)).isFalse();
    assertThat(a.cardinality()).isEqualTo(SeedHandout.AHEAD); // alone when it asked
    assertThat(c.cardinality()).isEqualTo(SeedHandout.AHEAD / 3);

    // c fetches one of its pieces: it is offered one fresh piece, nobody else's
    int fetched = c.nextSetBit(0);
    handout.uploaded("t", fetched * PIECE, PIECE);
    BitSet cAgain = task.offer("c", have, true);
    BitSet added = (BitSet) cAgain.clone();
    added.andNot(c);
    assertThat(added.cardinality()).isEqualTo(1);
    assertThat(added.intersects(a) || added.intersects(b)).isFalse();
  }

  @Test
  void piecesAChildGotElsewhereStopCountingAfterTheTtlSoEveryPieceIsOfferedInTheEnd() {
    long[] now = {0};
    SeedHandout handout = new SeedHandout(() -> now[0]);
    SeedHandout.TaskHandout task = handout.task("t", PIECE, COUNT);
    BitSet have = all(COUNT);
    BitSet a = task.offer("a", have, true);
    BitSet b = task.offer("b", have, true);
    // Both fetch their pieces from another parent: the seed uploads none of them.
    now[0] += SeedHandout.OFFER_TTL_NANOS - 1;
    assertThat(task.offer("a", have, true)).as("within the TTL nothing new").isEqualTo(a);
    now[0] += 1;
    BitSet aLater = task.offer("a", have, true);
    BitSet added = (BitSet) aLater.clone();
    added.andNot(a);
    assertThat(added.cardinality()).isEqualTo(SeedHandout.AHEAD / 2);
    assertThat(added.intersects(b)).isFalse();
    // Topped up every TTL, every piece is offered in the end, and then everything goes to all.
    for (int round = 0; round < COUNT && task.offer("a", have, true).cardinality() < COUNT; round++) {
      now[0] += SeedHandout.OFFER_TTL_NANOS;
      task.offer("b", have, true);
    }
    assertThat(task.offer("a", have, true)).isEqualTo(have);
    assertThat(task.offer("b", have, true)).isEqualTo(have);
  }

  @Test
  void onlyPiecesTheSeedHasAreOfferedAndAPartialUploadCountsForNothing() {
    SeedHandout handout = new SeedHandout();
    SeedHandout.TaskHandout task = handout.task("t", PIECE, COUNT);
    BitSet have = new BitSet();
    have.set(5);
    assertThat(task.offer("a", have, false)).isEqualTo(have);
    handout.uploaded("t", 5 * PIECE, PIECE / 2);
    have.set(6);
    have.set(7);
    BitSet offer = task.offer("a", have, false);
    assertThat(offer.get(5)).isTrue();
    assertThat(offer.cardinality()).as("piece 5 is still waiting, so 2 of the 8 ahead are new").isEqualTo(3);
  }

  @Test
  void piecesOfAChildThatLeftGoToOthers() {
    SeedHandout handout = new SeedHandout();
    SeedHandout.TaskHandout task = handout.task("t", PIECE, 4);
    BitSet have = all(4);
    BitSet a = task.offer("a", have, false); // all 4 while alone
    assertThat(a.cardinality()).isEqualTo(4);
    assertThat(task.offer("b", have, false).cardinality()).isZero();
    task.leave("a");
    assertThat(task.offer("b", have, false)).isEqualTo(have);
  }

  @Test
  void onceEveryPieceWasOfferedAndTheSeedHasItAllEveryoneGetsEverything() {
    SeedHandout handout = new SeedHandout();
    SeedHandout.TaskHandout task = handout.task("t", PIECE, 6);
    BitSet have = all(6);
    task.offer("a", have, true);
    task.offer("b", have, true);
    task.offer("c", have, true);
    // 6 pieces, each child holds 2 it has not fetched: every piece is offered, the seed is complete
    assertThat(task.offer("d", have, true)).isEqualTo(have);
    assertThat(task.offer("a", have, true)).isEqualTo(have);
  }

  @Test
  void theLastPieceIsShortAndCountsWhenUploadedWhole() {
    SeedHandout handout = new SeedHandout();
    SeedHandout.TaskHandout task = handout.task("t", PIECE, 2);
    BitSet have = all(2);
    task.offer("a", have, false);
    handout.uploaded("t", 0, PIECE);
    handout.uploaded("t", PIECE, 100);
    assertThat(task.leave("a")).as("everything left the seed once; nothing more to hand out").isTrue();
  }
}
