package io.dfly.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ServerTrainingTest {
  /**
   * The launchers' start-up cache holds what this run loads, so it must take the whole data path:
   * scheduler, seed trigger, seed peer, parent fetch, not a fall-back to the origin.
   */
  @Test
  void theTrainingDownloadGoesThroughTheSeedPeer() throws Exception {
    assertThat(ServerTraining.run()).isZero();
  }
}
