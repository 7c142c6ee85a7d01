package io.dfly.daemon.peer;

/**
 * A task that could not be completed; the message is one line fit to show to a user.
 * {@link #isStorage()} tells a full or failing disk on this host from a source or peer failure.
 */
public final class PeerTaskException extends RuntimeException {
  private final boolean storage;

  public PeerTaskException(String message) {
    this(message, false);
  }

  public PeerTaskException(String message, boolean storage) {
    super(message);
    this.storage = storage;
  }

  public boolean isStorage() {
    return storage;
  }
}
