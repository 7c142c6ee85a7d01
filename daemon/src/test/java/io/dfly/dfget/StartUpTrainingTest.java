package io.dfly.dfget;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StartUpTrainingTest {
  @Test
  void theStandInDownloadGoesThroughDfgetsRealClientAndSucceeds() throws Exception {
    // Fails when the stand-in daemon and the local API client drift apart: the start-up cache
    // would then learn an error path instead of a download.
    assertThat(StartUpTraining.run()).isZero();
  }
}
