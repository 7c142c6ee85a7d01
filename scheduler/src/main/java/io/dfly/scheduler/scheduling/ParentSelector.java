package io.dfly.scheduler.scheduling;

import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.Task;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Picks a peer's parents within its task. A candidate is another peer, on another host, that
 * has or is fetching the content, is not blocked for this child and does not (even through
 * others) download from the child, so the parent graph stays acyclic. Candidates are ranked:
 * finished peers first, then more finished pieces, then seed peers, then fewer children.
 * Parents a child already has keep their place while they stay valid.
 */
public final class ParentSelector {
  private final int limit;

  public ParentSelector(int limit) {
    this.limit = limit;
  }

  public int limit() {
    return limit;
  }

  /** The child's new parent set, at most {@link #limit()} peer ids. */
  public List<String> select(Task task, Peer child) {
    LinkedHashSet<String> chosen = new LinkedHashSet<>();
    for (String parentId : child.parents()) {
      Peer parent = task.peer(parentId);
      if (parent != null && isCandidate(task, child, parent) && chosen.size() < limit) {
        chosen.add(parentId);
      }
    }
    List<Peer> ranked = new ArrayList<>();
    for (Peer peer : task.peers()) {
      if (!chosen.contains(peer.id()) && isCandidate(task, child, peer)) {
        ranked.add(peer);
      }
    }
    ranked.sort(ranking(task));
    for (Peer peer : ranked) {
      if (chosen.size() >= limit) {
        break;
      }
      chosen.add(peer.id());
    }
    return List.copyOf(chosen);
  }

  boolean isCandidate(Task task, Peer child, Peer parent) {
    return parent != child
        && !parent.host().getId().equals(child.host().getId())
        && parent.state().canServe()
        && !child.isBlocked(parent.id())
        && !downloadsFrom(task, parent, child);
  }

  /** True when {@code from} reaches {@code target} by following parent links. */
  static boolean downloadsFrom(Task task, Peer from, Peer target) {
    Deque<Peer> todo = new ArrayDeque<>();
    Set<String> seen = new HashSet<>();
    todo.push(from);
    while (!todo.isEmpty()) {
      Peer peer = todo.pop();
      for (String parentId : peer.parents()) {
        if (parentId.equals(target.id())) {
          return true;
        }
        Peer parent = task.peer(parentId);
        if (parent != null && seen.add(parentId)) {
          todo.push(parent);
        }
      }
    }
    return false;
  }

  private static Comparator<Peer> ranking(Task task) {
    return Comparator
        .comparing((Peer p) -> p.state() != io.dfly.scheduler.resource.PeerState.SUCCEEDED)
        .thenComparing(Comparator.comparingInt(Peer::finishedCount).reversed())
        .thenComparing(p -> !p.isSeed())
        .thenComparingLong(p -> childrenOf(task, p));
  }

  private static long childrenOf(Task task, Peer parent) {
    return task.peers().stream().filter(p -> p.parents().contains(parent.id())).count();
  }
}
