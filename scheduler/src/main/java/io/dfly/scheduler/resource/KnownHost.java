package io.dfly.scheduler.resource;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.common.v1.HostType;
import java.util.concurrent.atomic.LongAdder;

/**
 * The scheduler's view of one host: what it announced, how busy it said it is, how its uploads
 * went, and its penalty for serving badly. Shared by all tasks, so safe for concurrent use.
 */
public final class KnownHost {
  private final String id;
  private final double penaltyHalfLifeNanos;
  private volatile Host host;
  private volatile HostLoad load;
  private volatile String[] location;
  private volatile long announcedAtNanos;
  private final LongAdder uploadsDone = new LongAdder();
  private final LongAdder uploadsFailed = new LongAdder();
  private double penalty; // guarded by this
  private long penaltyAtNanos; // guarded by this

  KnownHost(Host host, long penaltyHalfLifeNanos) {
    this.id = host.getId();
    this.host = host;
    this.location = locationElements(host.getLocation());
    this.penaltyHalfLifeNanos = penaltyHalfLifeNanos;
  }

  /** The elements of a "country|region|zone" location; none for an empty one. */
  public static String[] locationElements(String location) {
    return location.isEmpty() ? new String[0] : location.split("\\|", -1);
  }

  /** The host's location, split once per announcement rather than on every decision. */
  public String[] location() {
    return location;
  }

  public String id() {
    return id;
  }

  public Host host() {
    return host;
  }

  /** The last load announced, or null when the host never sent one. */
  public HostLoad load() {
    return load;
  }

  void announced(Host newHost, HostLoad newLoad, long nowNanos) {
    if (!newHost.getLocation().equals(host.getLocation())) {
      location = locationElements(newHost.getLocation());
    }
    host = newHost;
    load = newLoad;
    announcedAtNanos = nowNanos;
  }

  public long announcedAtNanos() {
    return announcedAtNanos;
  }

  public boolean isSeed() {
    return host.getType() == HostType.HOST_TYPE_SEED;
  }

  /**
   * Share of its upload capacity the host had free at its last announcement: of its upload
   * slots, or of its upload bandwidth when that is limited and more used; 1 when unknown.
   */
  public double freeUploadShare() {
    HostLoad current = load;
    if (current == null) {
      return 1;
    }
    double free = 1;
    int slots = host.getUploadLimit();
    if (slots > 0) {
      free = Math.max(0, slots - current.getUploadSlotsInUse()) / (double) slots;
    }
    long rateLimit = current.getUploadRateLimit();
    if (rateLimit > 0) {
      free = Math.min(free, Math.max(0, 1 - current.getUploadBytesPerSecond() / (double) rateLimit));
    }
    return free;
  }

  /** Every upload slot was taken at the last announcement: no new children for now. */
  public boolean isOverloaded() {
    HostLoad current = load;
    return current != null && host.getUploadLimit() > 0
        && current.getUploadSlotsInUse() >= host.getUploadLimit();
  }

  /** Share of the host's CPU in use at its last announcement, 0 to 1; 0 when it sent no load. */
  public double cpuUsage() {
    HostLoad current = load;
    return current == null ? 0 : Math.clamp(current.getCpuUsage(), 0.0, 1.0);
  }

  /** Share of the host's memory in use at its last announcement, 0 to 1; 0 when it sent no load. */
  public double memoryUsage() {
    HostLoad current = load;
    return current == null ? 0 : Math.clamp(current.getMemoryUsage(), 0.0, 1.0);
  }

  /** A piece this host served arrived, or failed. */
  public void countUpload(boolean succeeded) {
    (succeeded ? uploadsDone : uploadsFailed).increment();
  }

  /** Share of served pieces that arrived intact, counting one success up front so a new host scores 1. */
  public double uploadSuccessRate() {
    long done = uploadsDone.sum();
    return (done + 1.0) / (done + uploadsFailed.sum() + 1.0);
  }

  /** Adds one to the host's penalty (after decay); returns the new value. */
  public synchronized double penalise(long nowNanos) {
    penalty = penalty(nowNanos) + 1;
    penaltyAtNanos = nowNanos;
    return penalty;
  }

  /** The penalty, halved every half-life since it was last raised. */
  public synchronized double penalty(long nowNanos) {
    if (penalty == 0) {
      return 0;
    }
    return penalty * Math.pow(0.5, (nowNanos - penaltyAtNanos) / penaltyHalfLifeNanos);
  }

  @Override
  public String toString() {
    return id;
  }
}
