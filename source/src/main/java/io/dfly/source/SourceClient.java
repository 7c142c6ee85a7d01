package io.dfly.source;

import java.util.List;
import java.util.Set;

/**
 * Fetches content from an origin. One implementation per URL scheme, found through
 * {@link java.util.ServiceLoader} and configured once with {@link SourceOptions}; see
 * {@link SourceClients}.
 */
public interface SourceClient {

  /** URL schemes this client serves, lower case. */
  Set<String> schemes();

  /** Applies the options before first use. */
  default void configure(SourceOptions options) {}

  /**
   * Opens the content, or the request's range of it. The caller closes the response.
   *
   * @throws SourceException when the origin refuses, fails or cannot be reached
   */
  SourceResponse open(SourceRequest request) throws SourceException;

  /**
   * Lists every file below a directory-like URL (an object-store prefix, a directory),
   * recursively, for {@code dfget --recursive}.
   *
   * @throws SourceException when the origin refuses, or this scheme cannot list
   */
  default List<SourceEntry> list(SourceRequest request) throws SourceException {
    throw new SourceException("listing " + request.url().getScheme() + " URLs is not supported", 0);
  }
}
