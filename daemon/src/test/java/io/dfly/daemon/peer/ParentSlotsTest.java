package io.dfly.daemon.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How many pieces a child may have in flight from each parent, by the parents' measured rates. */
class ParentSlotsTest {
  private static final int PER_PARENT = 4;

  private static Parent parent(String id, long bytesPerSecond) {
    Parent parent = new Parent(id, Host.newBuilder().setIp("10.0.0.1").setUploadPort(65002).build());
    if (bytesPerSecond > 0) {
      parent.recordTransfer(bytesPerSecond, 1_000_000_000L);
    }
    return parent;
  }

  @Test
  void slotsFollowTheRateAgainstTheFastestMeasuredParentAndANewcomerGetsAFullShare() {
    Parent fast = parent("fast", 6_000_000);
    Parent half = parent("half", 3_000_000);
    Parent crawling = parent("crawling", 10_000);
    Parent fresh = parent("fresh", 0);
    // The newcomer's optimistic guess does not set the pace: that cut every measured parent to one.
    double fastest = Parent.fastestMeasured(List.of(fast, fresh, half, crawling));
    assertThat(fastest).isEqualTo(6_000_000);
    assertThat(fast.slots(PER_PARENT, fastest)).isEqualTo(4);
    assertThat(half.slots(PER_PARENT, fastest)).isEqualTo(2);
    assertThat(crawling.slots(PER_PARENT, fastest)).isEqualTo(1);
    assertThat(fresh.slots(PER_PARENT, fastest)).as("tried with a full share").isEqualTo(4);
  }

  @Test
  void aDroppedParentNoLongerSetsThePace() {
    Parent gone = parent("gone", 6_000_000);
    Parent half = parent("half", 3_000_000);
    gone.drop();
    double fastest = Parent.fastestMeasured(List.of(gone, half));
    assertThat(half.slots(PER_PARENT, fastest)).isEqualTo(4);
  }

  @Test
  void withNoParentMeasuredEachGetsTheFullShare() {
    Parent a = parent("a", 0);
    Parent b = parent("b", 0);
    double fastest = Parent.fastestMeasured(List.of(a, b));
    assertThat(fastest).isZero();
    assertThat(a.slots(PER_PARENT, fastest)).isEqualTo(4);
  }
}
