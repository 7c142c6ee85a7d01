package io.dfly.daemon.peer;

import io.dfly.daemon.storage.TaskStore;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which pieces are being written now. A piece has at most one writer at a time, so a fetch
 * that turns out corrupt can never overwrite bytes another fetch already verified; the origin
 * stream (which cannot skip ahead) and the conductor's fetches both claim pieces here.
 */
final class PieceClaims {
  private final TaskStore store;
  private final Set<Integer> writing = ConcurrentHashMap.newKeySet();

  PieceClaims(TaskStore store) {
    this.store = store;
  }

  boolean claim(int number) {
    return !store.isFinished(number) && writing.add(number);
  }

  void release(int number) {
    writing.remove(number);
  }
}
