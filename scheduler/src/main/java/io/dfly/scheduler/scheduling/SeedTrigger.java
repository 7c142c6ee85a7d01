package io.dfly.scheduler.scheduling;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import java.util.concurrent.CompletableFuture;

/** Asks a seed peer to fetch a task from its origin. */
public interface SeedTrigger {
  /** Asks {@code seed} to fetch the task as the seed peer {@code peerId}, the id it is to register under. */
  CompletableFuture<Void> trigger(Host seed, String taskId, String peerId, Download download);

  /** A seed host announced itself: get ready to trigger it, so the first trigger waits for no connection. */
  default void prepare(Host seed) {}
}
