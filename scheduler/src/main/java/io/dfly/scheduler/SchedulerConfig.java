package io.dfly.scheduler;

/**
 * Every setting of a scheduler, loaded from YAML ({@code --config}, kebab-case keys) over these
 * defaults; command-line options override the file.
 */
public class SchedulerConfig {
  /** The default follows the command-line contract; put it behind a firewall or bind it to an internal address. */
  public String listen = "0.0.0.0:8002";
  /** Parents sent to a peer at most. */
  public int candidateParentLimit = 4;
  /** Peers of one task fetching from the origin at once, when no seed peer can. */
  public int backToSourceLimit = 1;
  /** How often waiting peers are scheduled again and growing peers get more parents. */
  public long rescheduleIntervalMillis = 1000;
  /** A peer with no parent for this long is sent to the origin. */
  public long pendingTimeoutMillis = 30_000;
}
