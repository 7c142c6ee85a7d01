package io.dfly.source;

import java.util.Set;

/**
 * Fetches content from an origin. One implementation per URL scheme, found through
 * {@link java.util.ServiceLoader}; see {@link SourceClients}.
 */
public interface SourceClient {

  /** URL schemes this client serves, lower case. */
  Set<String> schemes();

  /**
   * Opens the content, or the request's range of it. The caller closes the response.
   *
   * @throws SourceException when the origin refuses, fails or cannot be reached
   */
  SourceResponse open(SourceRequest request) throws SourceException;
}
