package io.dfly.scheduler.resource;

/** Where a peer of a task stands, as the scheduler sees it. */
public enum PeerState {
  /** Registered, waiting for a parent or a back-to-source order. */
  PENDING,
  /** Downloading from parents. */
  RUNNING,
  /** Fetching from the origin. */
  BACK_TO_SOURCE,
  /** Has every piece; serves them while its host stays. */
  SUCCEEDED,
  FAILED,
  LEFT;

  /** A peer in this state can serve pieces to others (it has them or is fetching them). */
  public boolean canServe() {
    return this == RUNNING || this == BACK_TO_SOURCE || this == SUCCEEDED;
  }

  public boolean isActive() {
    return this == PENDING || this == RUNNING || this == BACK_TO_SOURCE;
  }
}
