package io.dfly.scheduler.resource;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/** Hosts that announced themselves. */
public final class Hosts {
  private final ConcurrentHashMap<String, KnownHost> hosts = new ConcurrentHashMap<>();
  private final long penaltyHalfLifeNanos;

  public Hosts(long penaltyHalfLifeNanos) {
    if (penaltyHalfLifeNanos <= 0) {
      throw new IllegalArgumentException("the penalty half-life must be positive");
    }
    this.penaltyHalfLifeNanos = penaltyHalfLifeNanos;
  }

  /** Records an announcement; returns the host and whether it was unknown until now. */
  public Announced announce(Host host, HostLoad load, long nowNanos) {
    boolean[] created = {false};
    KnownHost known = hosts.computeIfAbsent(host.getId(), id -> {
      created[0] = true;
      return new KnownHost(host, penaltyHalfLifeNanos);
    });
    known.announced(host, load, nowNanos);
    return new Announced(known, created[0]);
  }

  public record Announced(KnownHost host, boolean isNew) {}

  public KnownHost get(String id) {
    return hosts.get(id);
  }

  public KnownHost remove(String id) {
    return hosts.remove(id);
  }

  public Collection<KnownHost> all() {
    return hosts.values();
  }

  public int size() {
    return hosts.size();
  }

  public List<KnownHost> seeds() {
    return hosts.values().stream().filter(KnownHost::isSeed).toList();
  }
}
