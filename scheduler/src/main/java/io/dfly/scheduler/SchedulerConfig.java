package io.dfly.scheduler;

/**
 * Every setting of a scheduler, loaded from YAML ({@code --config}, kebab-case keys) over these
 * defaults; command-line options override the file.
 */
public class SchedulerConfig {
  /** gRPC address; loopback by default: give the address dfdaemons reach it on, on an internal network. */
  public String listen = "127.0.0.1:8002";
  /**
   * The secret shared by the cluster's schedulers and dfdaemons (inline, or better a file only the
   * service can read); required when {@link #listen} is not loopback.
   */
  public String clusterToken = "";
  public String clusterTokenFile = "";
  /** Port on 127.0.0.1 that serves Prometheus metrics at /metrics; 0 serves none. */
  public int metricsPort = 0;
  /** Parents sent to a peer at most. */
  public int candidateParentLimit = 4;
  /** Other peers of the task looked at per decision, picked at random, besides current parents and seed peers. */
  public int filterParentLimit = 40;
  /** Peers of one task fetching from the origin at once (seed peers included). */
  public int backToSourceLimit = 3;
  /** A peer that found no parent in this many rescheduling rounds in a row goes back to source. */
  public int backToSourceAfterRounds = 10;
  /**
   * For this long after the scheduler starts, a peer that finds no parent and no seed host waits
   * (up to back-to-source-after-rounds) instead of going to the origin at once: after a restart,
   * seed peers announce themselves again only within their announce interval.
   */
  public long seedGraceSeconds = 5;
  /** How often waiting peers are scheduled again and running peers' parents are evaluated again. */
  public long rescheduleIntervalMillis = 1000;
  /** How candidate parents are scored: each factor is 0 to 1, the score is their weighted sum. */
  public Evaluator evaluator = new Evaluator();
  /** When a parent counts as bad, and what that costs its host. */
  public BadParents badParents = new BadParents();
  /** When hosts, peers and tasks that stopped reporting are forgotten. */
  public Gc gc = new Gc();

  public static class Evaluator {
    /** Pieces the parent has and the child lacks, each weighing 1 / (peers holding it), against the best candidate. */
    public double finishedPieces = 0.25;
    /** Share of the pieces the parent's host served that arrived intact. */
    public double uploadSuccess = 0.15;
    /** Share of the parent host's upload slots (or bandwidth) that are free, over 1 + the parent's other children. */
    public double freeUpload = 0.15;
    /** 1 for a seed peer still fetching (the swarm's source of new pieces), 0 for a finished one (spare it), 0.5 others. */
    public double seedPeer = 0.1;
    /** 1 when parent and child hosts are in the same IDC. */
    public double idc = 0.1;
    /** Share of the leading elements of "country|region|zone" locations that match. */
    public double location = 0.1;
    /** How fast the parent's pieces arrive, against what its children pay other parents. */
    public double pieceCost = 0.15;
    /**
     * Share of the parent host's CPU that is free (1 - announced cpu-usage): a host busy with
     * other work serves pieces late (reading, checksums, TLS), and children slow it further.
     */
    public double cpu = 0.05;
    /** Share of the parent host's memory that is free: a host short of memory serves from disk, not page cache. */
    public double memory = 0.05;
    /** A current parent keeps its place unless a newcomer scores this share higher, so parents do not flap. */
    public double stickiness = 0.2;
  }

  public static class BadParents {
    /** Failed pieces (any child) after which a parent is blocked for the task; one corrupt piece blocks it at once. */
    public int failureLimit = 3;
    /** Pieces a parent must have served (to children that also have other parents) before its costs are judged. */
    public int costMinSamples = 16;
    /**
     * Served pieces in a row, each above the parent's own history by 3 standard deviations and by
     * slow-factor times its mean, and costing slow-factor times what the child pays others, that
     * block it; pieces that were in flight together (one pause of the parent) count once.
     */
    public int costOutlierStreak = 5;
    /** A parent (not a seed peer) costing this many times what its children pay their other parents is blocked. */
    public double slowFactor = 4;
    /**
     * A parent (not a seed peer) that delivers, while busy, less than this share of what the
     * task's median parent delivers keeps at most candidate-parent-limit times that ratio children
     * (at least one): the others let it go, new ones do not take it.
     */
    public double slowParentShare = 0.4;
    /** Pieces a parent must have served before its delivery rate is compared. */
    public int slowParentMinPieces = 8;
    /** Each block adds 1 to the host's penalty, which halves every this many seconds. */
    public long hostPenaltyHalfLifeSeconds = 600;
    /** Hosts whose penalty is at least this get no children at all; below it their scores shrink by 1/(1+penalty). */
    public double hostPenaltyLimit = 3;
  }

  public static class Gc {
    /** A host not announced for this long is forgotten with its peers (dfdaemons announce every 30 s by default). */
    public long hostTtlSeconds = 180;
    /** A peer still downloading that reported nothing for this long is failed and forgotten. */
    public long peerIdleSeconds = 600;
    /** A finished peer nobody fetched from for this long is forgotten (the dfdaemon's task TTL is 6 h by default). */
    public long finishedPeerTtlSeconds = 6 * 3600;
  }

  /** Throws with a clear message when a value cannot work. */
  public SchedulerConfig validate() {
    require(candidateParentLimit >= 1, "candidate-parent-limit must be at least 1");
    require(filterParentLimit >= 1, "filter-parent-limit must be at least 1");
    require(backToSourceLimit >= 0, "back-to-source-limit must not be negative");
    require(backToSourceAfterRounds >= 1, "back-to-source-after-rounds must be at least 1");
    require(rescheduleIntervalMillis >= 10, "reschedule-interval-millis must be at least 10");
    require(seedGraceSeconds >= 0, "seed-grace-seconds must not be negative");
    require(metricsPort >= 0 && metricsPort <= 65535, "metrics-port must be 0 to 65535");
    double[] weights = {evaluator.finishedPieces, evaluator.uploadSuccess, evaluator.freeUpload,
        evaluator.seedPeer, evaluator.idc, evaluator.location, evaluator.pieceCost, evaluator.cpu, evaluator.memory};
    double sum = 0;
    for (double weight : weights) {
      require(weight >= 0, "evaluator weights must not be negative");
      sum += weight;
    }
    require(sum > 0, "at least one evaluator weight must be positive");
    require(evaluator.stickiness >= 0, "evaluator.stickiness must not be negative");
    require(badParents.failureLimit >= 1, "bad-parents.failure-limit must be at least 1");
    require(badParents.costMinSamples >= 2, "bad-parents.cost-min-samples must be at least 2");
    require(badParents.costOutlierStreak >= 1, "bad-parents.cost-outlier-streak must be at least 1");
    require(badParents.slowFactor > 1, "bad-parents.slow-factor must be above 1");
    require(badParents.slowParentShare >= 0 && badParents.slowParentShare < 1,
        "bad-parents.slow-parent-share must be 0 (off) up to below 1");
    require(badParents.slowParentMinPieces >= 1, "bad-parents.slow-parent-min-pieces must be at least 1");
    require(badParents.hostPenaltyHalfLifeSeconds >= 1,
        "bad-parents.host-penalty-half-life-seconds must be at least 1");
    require(badParents.hostPenaltyLimit > 0, "bad-parents.host-penalty-limit must be positive");
    require(gc.hostTtlSeconds >= 1 && gc.peerIdleSeconds >= 1 && gc.finishedPeerTtlSeconds >= 1,
        "gc times must be at least 1 second");
    return this;
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
