package io.dfly.daemon.storage;

import io.dfly.api.dfdaemon.v1.TrafficStat;
import java.util.concurrent.atomic.LongAdder;

/** Where a task's bytes came from on this host. */
public final class TrafficCounters {
  private final LongAdder fromOrigin = new LongAdder();
  private final LongAdder fromSeedPeers = new LongAdder();
  private final LongAdder fromPeers = new LongAdder();

  public void addFromOrigin(long bytes) {
    fromOrigin.add(bytes);
  }

  public void addFromSeedPeer(long bytes) {
    fromSeedPeers.add(bytes);
  }

  public void addFromPeer(long bytes) {
    fromPeers.add(bytes);
  }

  public TrafficStat snapshot() {
    return TrafficStat.newBuilder()
        .setFromOrigin(fromOrigin.sum())
        .setFromSeedPeers(fromSeedPeers.sum())
        .setFromPeers(fromPeers.sum())
        .build();
  }

  void restore(TrafficStat stat) {
    fromOrigin.add(stat.getFromOrigin());
    fromSeedPeers.add(stat.getFromSeedPeers());
    fromPeers.add(stat.getFromPeers());
  }
}
