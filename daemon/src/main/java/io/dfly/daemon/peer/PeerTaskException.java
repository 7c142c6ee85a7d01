package io.dfly.daemon.peer;

/** A task that could not be completed; the message is one line fit to show to a user. */
public final class PeerTaskException extends RuntimeException {
  public PeerTaskException(String message) {
    super(message);
  }
}
