package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PieceOrderTest {
  @Test
  void theNextPiecesGoInOrderAndTheRestRarestFirst() {
    // piece -> how many parents hold it
    Map<Integer, Integer> holders = Map.of(3, 5, 4, 1, 5, 3, 6, 4, 7, 2, 8, 5);
    List<Integer> order = PieceOrder.order(List.of(3, 4, 5, 6, 7, 8), holders::get, 2, new Random(1));
    assertThat(order.subList(0, 2)).containsExactly(3, 4);
    assertThat(order.subList(2, 5)).containsExactly(7, 5, 6);
    assertThat(order.get(5)).isEqualTo(8);
  }

  @Test
  void equallyRarePiecesComeInADifferentOrderOnDifferentPeers() {
    List<Integer> missing = java.util.stream.IntStream.range(0, 64).boxed().toList();
    List<Integer> a = PieceOrder.order(missing, n -> n < 32 ? 1 : 2, 0, new Random(1));
    List<Integer> b = PieceOrder.order(missing, n -> n < 32 ? 1 : 2, 0, new Random(2));
    assertThat(a.subList(0, 32)).containsExactlyInAnyOrderElementsOf(missing.subList(0, 32));
    assertThat(b.subList(0, 32)).containsExactlyInAnyOrderElementsOf(missing.subList(0, 32));
    assertThat(a.subList(0, 8)).as("two peers start on different pieces").isNotEqualTo(b.subList(0, 8));
    assertThat(PieceOrder.order(List.of(), n -> 0, 4, new Random(3))).isEmpty();
  }

  @Test
  void aSlowParentGetsFewerSlotsThanTheFastestOne() {
    Parent fast = new Parent("fast", Host.getDefaultInstance());
    Parent slow = new Parent("slow", Host.getDefaultInstance());
    assertThat(slow.slots(4, 0)).as("unmeasured parents get the full share").isEqualTo(4);
    fast.recordTransfer(4 << 20, 10_000_000); // 4 MiB in 10 ms
    slow.recordTransfer(4 << 20, 400_000_000); // 4 MiB in 400 ms
    double fastest = Math.max(fast.bytesPerSecond(), slow.bytesPerSecond());
    assertThat(fast.slots(4, fastest)).isEqualTo(4);
    assertThat(slow.slots(4, fastest)).isEqualTo(1);
    assertThat(slow.bytesPerSecond()).isLessThan(fast.bytesPerSecond() / 10);
  }
}
