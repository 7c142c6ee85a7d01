package io.dfly.source;

import java.io.IOException;

/**
 * The origin refused, failed or could not be reached. The message is one line fit to show
 * to a user.
 */
public class SourceException extends IOException {
  private final int statusCode;

  public SourceException(String message, int statusCode) {
    super(message);
    this.statusCode = statusCode;
  }

  public SourceException(String message, Throwable cause) {
    super(message, cause);
    this.statusCode = 0;
  }

  /** The origin's status code (HTTP), or 0 when it gave none. */
  public int statusCode() {
    return statusCode;
  }
}
