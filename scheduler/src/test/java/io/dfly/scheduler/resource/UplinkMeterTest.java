package io.dfly.scheduler.resource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UplinkMeterTest {
  private static final long MB = 1_000_000;
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  @Test
  void piecesInFlightTogetherShareTheBusyTime() {
    UplinkMeter wide = new UplinkMeter();
    // Four pieces of 1 MB, each taking 1 s, all in flight at once: 4 MB/s.
    for (int i = 0; i < 4; i++) {
      wide.add(10 * SECOND, SECOND, MB);
    }
    assertThat(wide.bytesPerSecond()).isCloseTo(4e6, within(1.0));
    assertThat(wide.concurrency()).isCloseTo(4, within(1e-9));
  }

  @Test
  void aThinUplinkServingOnePieceAtATimeIsAsSlowAsItsPieces() {
    UplinkMeter thin = new UplinkMeter();
    for (int i = 1; i <= 4; i++) {
      thin.add(i * SECOND, SECOND, MB);
    }
    assertThat(thin.bytesPerSecond()).isCloseTo(1e6, within(1.0));
    assertThat(thin.concurrency()).as("asked for one piece at a time").isCloseTo(1, within(1e-9));
  }

  @Test
  void idleTimeBetweenPiecesIsNotCounted() {
    UplinkMeter meter = new UplinkMeter();
    meter.add(SECOND, SECOND, MB);
    meter.add(5 * SECOND, SECOND / 2, MB);
    assertThat(meter.bytesPerSecond()).isCloseTo(2e6 / 1.5, within(1.0));
    assertThat(meter.pieces()).isEqualTo(2);
  }

  @Test
  void oldLoadFadesSoTheRateFollowsTheRecentPast() {
    UplinkMeter meter = new UplinkMeter();
    for (int i = 1; i <= 10; i++) {
      meter.add(i * SECOND, SECOND, 10 * MB); // 10 MB/s
    }
    for (int i = 1; i <= 60; i++) {
      meter.add((10 + i) * SECOND, SECOND, MB); // then 1 MB/s for a minute
    }
    assertThat(meter.bytesPerSecond()).isLessThan(1.2e6);
  }
}
