package io.dfly.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.HostLoad;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HostLoadSamplerTest {

  @Test
  void reportsUploadsInUseAndTheUploadRateSinceThePreviousSample() {
    AtomicInteger active = new AtomicInteger(3);
    AtomicLong uploaded = new AtomicLong(1_000);
    AtomicLong limit = new AtomicLong(100 << 20);
    AtomicLong clock = new AtomicLong(0);
    HostLoadSampler sampler = new HostLoadSampler(active::get, uploaded::get, limit::get, clock::get);

    uploaded.addAndGet(60L << 20);
    clock.addAndGet(2_000_000_000L);
    HostLoad load = sampler.sample();
    assertThat(load.getUploadSlotsInUse()).isEqualTo(3);
    assertThat(load.getUploadBytesPerSecond()).isEqualTo(30L << 20);
    assertThat(load.getUploadRateLimit()).isEqualTo(100 << 20);
    assertThat(load.getCpuUsage()).isBetween(0.0, 1.0);
    assertThat(load.getMemoryUsage()).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);

    // Nothing uploaded since: the rate drops to 0; a limit changed live is reported as it is now.
    active.set(0);
    limit.set(0);
    clock.addAndGet(1_000_000_000L);
    load = sampler.sample();
    assertThat(load.getUploadBytesPerSecond()).isZero();
    assertThat(load.getUploadSlotsInUse()).isZero();
    assertThat(load.getUploadRateLimit()).isZero();
  }
}
