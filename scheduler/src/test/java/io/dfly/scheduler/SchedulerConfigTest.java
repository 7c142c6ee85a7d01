package io.dfly.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.common.config.ConfigFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scheduler's YAML settings, under the names the README gives them. */
class SchedulerConfigTest {
  @TempDir
  Path dir;

  @Test
  void weightsAndLimitsComeFromTheFileAndTheRestKeepTheirDefaults() throws IOException {
    Path file = Files.writeString(dir.resolve("scheduler.yaml"), """
        candidate-parent-limit: 6
        back-to-source-limit: 1
        back-to-source-after-rounds: 4
        evaluator:
          idc: 0.5
          piece-cost: 0.3
        bad-parents:
          failure-limit: 5
          host-penalty-half-life-seconds: 60
        """);
    SchedulerConfig config = ConfigFiles.load(file, new SchedulerConfig()).validate();
    assertThat(config.candidateParentLimit).isEqualTo(6);
    assertThat(config.backToSourceLimit).isEqualTo(1);
    assertThat(config.backToSourceAfterRounds).isEqualTo(4);
    assertThat(config.evaluator.idc).isEqualTo(0.5);
    assertThat(config.evaluator.pieceCost).isEqualTo(0.3);
    assertThat(config.evaluator.finishedPieces).as("not in the file").isEqualTo(0.25);
    assertThat(config.badParents.failureLimit).isEqualTo(5);
    assertThat(config.badParents.hostPenaltyHalfLifeSeconds).isEqualTo(60);
    assertThat(config.badParents.costOutlierStreak).isEqualTo(5);

    SchedulerConfig defaults = new SchedulerConfig();
    assertThat(defaults.candidateParentLimit).as("the issue's default").isEqualTo(4);
    assertThat(defaults.backToSourceLimit).isEqualTo(3);
  }
}
