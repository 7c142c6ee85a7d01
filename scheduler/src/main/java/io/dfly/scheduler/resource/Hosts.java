package io.dfly.scheduler.resource;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/** Hosts that announced themselves. */
public final class Hosts {
  private final ConcurrentHashMap<String, Host> hosts = new ConcurrentHashMap<>();

  public void put(Host host) {
    hosts.put(host.getId(), host);
  }

  public Host get(String id) {
    return hosts.get(id);
  }

  public Host remove(String id) {
    return hosts.remove(id);
  }

  public List<Host> seeds() {
    return hosts.values().stream().filter(h -> h.getType() == HostType.HOST_TYPE_SEED).toList();
  }
}
