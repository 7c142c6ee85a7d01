package io.dfly.scheduler.scheduling;

import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.resource.CostWindow;
import io.dfly.scheduler.resource.Peer;

/**
 * Judges the cost of each piece a child reports from a parent. Raw costs say as much about the
 * child (its link, its rate limit) as about the parent, so a piece's cost per byte is taken
 * relative to what the same child pays its other parents, and a parent is judged on those
 * ratios: against its own history (a jump far above it that lasts several pieces) and against
 * the task (its children pay it several times what they pay their other parents, while it
 * delivers far less than the task's other parents in all: {@link SlowParents}). Both need
 * the parent to cost several times what the children pay others: costs that rise because a
 * parent's uplink is shared by more children are load, not a fault, and rise for every parent.
 * A jump must last: pieces that were in flight together when the parent paused count as one.
 * Seed peers are never blocked for cost, only for failed or corrupt pieces: they are the
 * task's source, and the busiest parent by design.
 */
final class PieceCostJudge {
  /** A sample is an outlier above the mean plus this many standard deviations of the history. */
  private static final double SIGMAS = 3;
  /** Pieces from another parent before what the child pays it is a fair yardstick. */
  private static final int YARDSTICK_SAMPLES = 2;

  private final int minSamples;
  private final int streakLimit;
  private final double slowFactor;

  PieceCostJudge(SchedulerConfig.BadParents config) {
    this.minSamples = config.costMinSamples;
    this.streakLimit = config.costOutlierStreak;
    this.slowFactor = config.slowFactor;
  }

  /**
   * Records that {@code child} reported, at {@code nowNanos}, a piece of {@code length} bytes
   * from {@code parent} that took {@code costNanos}; returns why the parent is now an outlier, or null.
   */
  Verdict record(Peer child, Peer parent, long nowNanos, long costNanos, long length) {
    if (costNanos <= 0 || length <= 0) {
      return null;
    }
    double perByte = costNanos / (double) length;
    child.costsFrom(parent).add(perByte);
    double yardstick = child.meanCostExcept(parent, YARDSTICK_SAMPLES);
    if (Double.isNaN(yardstick)) {
      return null; // nobody else served this child yet: nothing to compare with
    }
    double relative = perByte / yardstick;
    CostWindow served = parent.servedRelativeCosts();
    boolean outlier = false;
    if (served.size() >= minSamples) {
      double mean = served.mean();
      outlier = relative >= slowFactor
          && relative > Math.max(mean + SIGMAS * served.standardDeviation(), slowFactor * mean);
      if (outlier) {
        parent.countCostOutlier(nowNanos, costNanos);
      } else {
        parent.resetCostOutliers();
      }
    }
    if (!outlier) {
      served.add(relative); // outliers stay out of the history they are judged against
    }
    if (parent.isSeed()) {
      return null;
    }
    if (parent.costOutlierStreak() >= streakLimit) {
      return new Verdict("cost_jump", String.format("its last %d pieces cost far more than its history"
          + " (the last %.1fx what its children pay others)", parent.costOutlierStreak(), relative));
    }
    // Per piece, a busy parent shared by many children costs as much as a slow one; only one
    // that also delivers little in all (SlowParents capped it) is slow.
    if (served.size() >= minSamples && served.mean() >= slowFactor && parent.isSlow()) {
      return new Verdict("slow", String.format("its pieces cost %.1fx what its children pay their other parents,"
          + " and it delivers less than its share", served.mean()));
    }
    return null;
  }

  /** Why a parent is an outlier: a short kind for metrics and a sentence for the log. */
  record Verdict(String kind, String reason) {}
}
