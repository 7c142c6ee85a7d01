package io.dfly.scheduler.scheduling;

import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.resource.KnownHost;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.PeerState;
import io.dfly.scheduler.resource.Task;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks a peer's parents within its task; runs on every decision, so it looks at a bounded
 * sample (current parents, seed peers, and a few other peers at random) and allocates little.
 *
 * <p>A candidate must be another peer, on another host, that can serve (fetching, finished, or
 * holding pieces while it waits),
 * is not blocked in the task, whose host is not out of upload slots or penalised past the
 * limit, that has room for the child (a slow parent keeps few children: {@link SlowParents}), and
 * that has pieces the child lacks or is fetching them. A host's CPU and memory use
 * only lower its score: a busy host still serves what nobody else can. A descendant of the child
 * (a peer that reaches it through parent links) qualifies only while it holds pieces the child
 * lacks: those did not come through the child, so no piece travels in a circle, yet two peers
 * that each fetched different pieces can serve each other. That two-way exchange is what lets
 * a swarm's throughput grow with its size; a fetching descendant with nothing new is refused,
 * so peers never wait on each other for pieces none of them has.
 *
 * <p>Candidates are scored on weighted factors (see {@link SchedulerConfig.Evaluator}); the best
 * few are kept, current parents with a bonus so that only a clearly better newcomer replaces one.
 */
public final class ParentEvaluator {
  private final SchedulerConfig.Evaluator weights;
  private final int limit;
  private final int sampleSize;
  private final double penaltyLimit;

  public ParentEvaluator(SchedulerConfig config) {
    this.weights = config.evaluator;
    this.limit = config.candidateParentLimit;
    this.sampleSize = config.filterParentLimit;
    this.penaltyLimit = config.badParents.hostPenaltyLimit;
  }

  /** A candidate that passed the filters, with what it offers the child. */
  private static final class Candidate {
    final Peer peer;
    /** Pieces it has that the child lacks, weighted by rarity. */
    final double useful;
    final boolean productive;
    final boolean current;
    double score;

    Candidate(Peer peer, double useful, boolean productive, boolean current) {
      this.peer = peer;
      this.useful = useful;
      this.productive = productive;
      this.current = current;
    }
  }

  /** The child's new parents, best first, at most candidate-parent-limit; empty when none can serve it. */
  public List<Peer> select(Task task, Peer child, long nowNanos) {
    long mark = task.nextMark();
    child.markCandidate(mark);
    Descendants descendants = new Descendants(child, mark);
    List<Candidate> candidates = new ArrayList<>();
    for (Peer parent : child.parents()) {
      consider(task, child, parent, true, descendants, mark, nowNanos, candidates);
    }
    for (Peer seed : task.seedPeers()) {
      consider(task, child, seed, false, descendants, mark, nowNanos, candidates);
    }
    int peers = task.peerCount();
    if (peers <= sampleSize + candidates.size() + 1) {
      for (int i = 0; i < peers; i++) {
        consider(task, child, task.peerAt(i), false, descendants, mark, nowNanos, candidates);
      }
    } else {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < sampleSize; i++) {
        consider(task, child, task.peerAt(random.nextInt(peers)), false, descendants, mark, nowNanos, candidates);
      }
    }
    if (candidates.isEmpty()) {
      return List.of();
    }
    double mostUseful = 0;
    for (Candidate candidate : candidates) {
      mostUseful = Math.max(mostUseful, candidate.useful);
    }
    for (Candidate candidate : candidates) {
      candidate.score = score(child, candidate.peer, candidate.useful, mostUseful, nowNanos)
          * (candidate.current ? 1 + weights.stickiness : 1);
    }
    candidates.sort((a, b) -> Double.compare(b.score, a.score));
    List<Peer> chosen = new ArrayList<>(Math.min(limit, candidates.size()));
    boolean anyProductive = false;
    for (Candidate candidate : candidates) {
      if (chosen.size() == limit) {
        break;
      }
      chosen.add(candidate.peer);
      anyProductive |= candidate.productive;
    }
    // Parents kept only because they are fetching must sit beside one that moves the child on.
    return anyProductive ? chosen : List.of();
  }

  private void consider(Task task, Peer child, Peer parent, boolean current, Descendants descendants,
      long mark, long nowNanos, List<Candidate> out) {
    if (!parent.markCandidate(mark) || !passesFilters(task, child, parent, nowNanos)
        || otherChildren(parent, child) >= parent.childCapacity()) {
      return;
    }
    double useful = parent.pieces().rarityMissingFrom(child.pieces(), task.rarity());
    boolean fetching = parent.state() == PeerState.RUNNING || parent.state() == PeerState.BACK_TO_SOURCE;
    boolean productive = useful > 0 || fetching && !descendants.contains(parent);
    // A current parent that is still fetching keeps its place rather than flapping in and out
    // as pieces arrive; select() drops it if nothing productive stands beside it.
    if (productive || current && fetching) {
      out.add(new Candidate(parent, useful, productive, current));
    }
  }

  /** The rules that do not depend on pieces. */
  boolean passesFilters(Task task, Peer child, Peer parent, long nowNanos) {
    KnownHost host = parent.host();
    return parent != child
        && !host.id().equals(child.host().id())
        && (parent.state().canServe() || parent.state() == PeerState.PENDING && !parent.pieces().isEmpty())
        && !task.isBlocked(parent.id())
        && !host.isOverloaded()
        && host.penalty(nowNanos) < penaltyLimit;
  }

  /** The weighted score of a candidate, before any bonus for being a current parent. */
  double score(Peer child, Peer parent, double useful, double mostUseful, long nowNanos) {
    KnownHost host = parent.host();
    double score = weights.finishedPieces * (mostUseful == 0 ? 0 : useful / mostUseful)
        + weights.uploadSuccess * host.uploadSuccessRate()
        + weights.freeUpload * host.freeUploadShare() / (1 + otherChildren(parent, child))
        + weights.seedPeer * (!parent.isSeed() ? 0.5 : parent.state() == PeerState.SUCCEEDED ? 0 : 1)
        + weights.idc * idcAffinity(child.host().host().getIdc(), host.host().getIdc())
        + weights.location * locationAffinity(child.host().location(), host.location())
        + weights.pieceCost * pieceCostScore(parent)
        + weights.cpu * (1 - host.cpuUsage())
        + weights.memory * (1 - host.memoryUsage());
    return score / (1 + host.penalty(nowNanos));
  }

  /**
   * Children the parent serves besides this one: its uplink is shared among them, and its load
   * announcement (every 30 s) is too late to stop every new peer picking the same best parents.
   */
  private static int otherChildren(Peer parent, Peer child) {
    return parent.children().size() - (parent.children().contains(child) ? 1 : 0);
  }

  static double idcAffinity(String child, String parent) {
    return !child.isEmpty() && child.equals(parent) ? 1 : 0;
  }

  /**
   * Share of the leading elements of two "country|region|zone" locations that match: 1 for the
   * same zone, 2/3 for the same region, 0 when the countries differ or a location is unknown.
   */
  static double locationAffinity(String[] child, String[] parent) {
    if (child.length == 0 || parent.length == 0) {
      return 0;
    }
    int matched = 0;
    while (matched < child.length && matched < parent.length && child[matched].equals(parent[matched])) {
      matched++;
    }
    return matched / (double) Math.max(child.length, parent.length);
  }

  /** 1 for a parent as fast as its children's other parents or faster, less as it is slower; 1 untried. */
  static double pieceCostScore(Peer parent) {
    double mean = parent.servedRelativeCostMean();
    return Double.isNaN(mean) ? 1 : Math.min(1, 1 / mean);
  }

  /** The child's descendants, found through children links the first time they are asked about. */
  private static final class Descendants {
    private final Peer child;
    private final long mark;
    private boolean walked;

    Descendants(Peer child, long mark) {
      this.child = child;
      this.mark = mark;
    }

    boolean contains(Peer peer) {
      if (!walked) {
        walked = true;
        ArrayDeque<Peer> todo = new ArrayDeque<>(child.children());
        while (!todo.isEmpty()) {
          Peer next = todo.poll();
          if (next.markDescendant(mark)) {
            todo.addAll(next.children());
          }
        }
      }
      return peer.isDescendantMarked(mark);
    }
  }
}
