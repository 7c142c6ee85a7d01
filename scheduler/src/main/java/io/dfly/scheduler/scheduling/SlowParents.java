package io.dfly.scheduler.scheduling;

import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.Task;
import io.dfly.scheduler.resource.UplinkMeter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Sets how many children each parent of a task may have. A parent with a thin uplink (or a busy
 * disk) is not broken: it serves correct pieces, only few of them, and may hold pieces nobody else
 * has yet, so it is not blocked; but every child it takes on waits on it. A parent that delivers,
 * while busy and with pieces queued on it, less than slow-parent-share of what the task's median
 * parent delivers keeps at most
 * candidate-parent-limit times that ratio children (at least one). Seed peers are exempt: they are
 * the task's source. Runs once per round; the evaluator reads the result.
 */
final class SlowParents {
  /** Parents measured before a median means anything. */
  private static final int MIN_PARENTS = 3;
  /** Pieces in flight on average while busy, for a parent's rate to be its own. */
  private static final double MIN_CONCURRENCY = 1.5;

  private final double share;
  private final int minPieces;
  private final int candidateLimit;

  SlowParents(SchedulerConfig config) {
    this.share = config.badParents.slowParentShare;
    this.minPieces = config.badParents.slowParentMinPieces;
    this.candidateLimit = config.candidateParentLimit;
  }

  /** Sets every peer's child capacity; returns the peers that became slow in this review. */
  List<Peer> review(Task task) {
    List<Peer> measured = new ArrayList<>();
    for (int i = 0; i < task.peerCount(); i++) {
      Peer peer = task.peerAt(i);
      if (isMeasured(peer)) {
        measured.add(peer);
      }
    }
    List<Peer> newlySlow = new ArrayList<>();
    double median = measured.size() < MIN_PARENTS ? Double.NaN : median(measured);
    for (int i = 0; i < task.peerCount(); i++) {
      Peer peer = task.peerAt(i);
      int capacity = Integer.MAX_VALUE;
      if (median > 0 && isMeasured(peer)) {
        UplinkMeter meter = peer.uplinkMeter();
        double ratio = meter.bytesPerSecond() / median;
        // Asked for one piece at a time, a parent's rate is its children's: it is found slow only
        // when pieces queue on it; once slow it stays so until it delivers its share again.
        boolean queued = meter.concurrency() >= MIN_CONCURRENCY || peer.isSlow();
        if (ratio < share && queued) {
          capacity = Math.max(1, (int) (candidateLimit * ratio));
        }
      }
      if (capacity != Integer.MAX_VALUE && !peer.isSlow()) {
        newlySlow.add(peer);
      }
      peer.setChildCapacity(capacity);
    }
    return newlySlow;
  }

  private boolean isMeasured(Peer peer) {
    return !peer.isSeed() && peer.servedPieces() >= minPieces;
  }

  private static double median(List<Peer> peers) {
    double[] rates = new double[peers.size()];
    for (int i = 0; i < rates.length; i++) {
      rates[i] = peers.get(i).uplinkMeter().bytesPerSecond();
    }
    Arrays.sort(rates);
    int middle = rates.length / 2;
    return rates.length % 2 == 1 ? rates[middle] : (rates[middle - 1] + rates[middle]) / 2;
  }
}
