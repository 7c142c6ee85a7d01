package io.dfly.common.task;

import io.dfly.api.common.v1.Download;
import io.dfly.common.digest.Digests;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Task ids: sha256 over the URL without its filtered query parameters, the tag, the
 * application and, when the caller forces one, the piece length. Every peer of the same
 * content computes the same id, so signed URLs that differ only in filtered parameters share
 * one task.
 */
public final class TaskId {
  private TaskId() {}

  public static String of(Download download) {
    String url = filterQuery(download.getUrl(), download.getFilteredQueryParamsList());
    StringBuilder key = new StringBuilder(url.length() + 64)
        .append(url).append('\n')
        .append(download.getTag()).append('\n')
        .append(download.getApplication());
    if (download.getPieceLength() > 0) {
      key.append('\n').append(download.getPieceLength());
    }
    return Digests.sha256Hex(key.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Removes the named query parameters, keeping the others in their order. */
  public static String filterQuery(String url, Collection<String> filtered) {
    if (filtered.isEmpty()) {
      return url;
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("malformed URL " + url + ": " + e.getMessage(), e);
    }
    String query = uri.getRawQuery();
    if (query == null) {
      return url;
    }
    Set<String> names = Set.copyOf(filtered);
    List<String> kept = new ArrayList<>();
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      if (!names.contains(name)) {
        kept.add(pair);
      }
    }
    int q = url.indexOf('?');
    int hash = url.indexOf('#', q);
    String base = url.substring(0, q);
    String fragment = hash < 0 ? "" : url.substring(hash);
    return kept.isEmpty() ? base + fragment : base + "?" + String.join("&", kept) + fragment;
  }

  /** Parses the dfget form of the filtered parameter list, {@code "a&b&c"}. */
  public static List<String> parseFilter(String spec) {
    if (spec == null || spec.isBlank()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String name : spec.split("&")) {
      if (!name.isBlank()) {
        names.add(name.trim());
      }
    }
    return names;
  }
}
