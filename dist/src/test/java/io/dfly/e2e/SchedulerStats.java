package io.dfly.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.api.scheduler.v1.StatTaskRequest;
import io.dfly.api.scheduler.v1.TaskStat;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;

/** What a scheduler process knows of a task, asked over its StatTask call. */
final class SchedulerStats {
  private SchedulerStats() {}

  /** Waits until the scheduler knows at least {@code count} peers of the task. */
  static void awaitPeers(String scheduler, String taskId, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        if (statTask(scheduler, taskId).getPeerCount() >= count) {
          return;
        }
      } catch (StatusRuntimeException notYet) {
        // no peer of the task there yet
      }
      assertThat(System.nanoTime()).as("%d peers of the task on %s", count, scheduler).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  static TaskStat statTask(String scheduler, String taskId) {
    ManagedChannel channel = ManagedChannelBuilder.forTarget(scheduler).usePlaintext().build();
    try {
      return SchedulerGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .statTask(StatTaskRequest.newBuilder().setTaskId(taskId).build());
    } finally {
      channel.shutdownNow();
    }
  }
}
