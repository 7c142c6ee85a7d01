package io.dfly.daemon.storage;

import java.io.IOException;

/** This host could not write to its piece store: the disk is full or failing. Not the source's fault. */
public final class StoreWriteException extends IOException {
  public StoreWriteException(String message, Throwable cause) {
    super(message, cause);
  }
}
