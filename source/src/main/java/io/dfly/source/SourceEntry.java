package io.dfly.source;

import java.net.URI;

/**
 * One file found by {@link SourceClient#list}.
 *
 * @param url where to fetch it, with the same scheme as the listed URL
 * @param relativePath its path below the listed URL, '/'-separated, never starting with '/'
 *     and never holding '..' segments
 * @param length its size in bytes, -1 when the listing does not tell
 */
public record SourceEntry(URI url, String relativePath, long length) {

  public SourceEntry {
    if (!isSafeRelativePath(relativePath)) {
      throw new IllegalArgumentException("unsafe relative path '" + relativePath + "'");
    }
  }

  /**
   * True when {@code path} can be written below a download directory without escaping it:
   * '/'-separated names, none of them empty, '.' or '..', no leading '/' and no '\'.
   */
  public static boolean isSafeRelativePath(String path) {
    if (path == null || path.isEmpty() || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0) {
      return false;
    }
    for (String name : path.split("/", -1)) {
      if (name.isEmpty() || name.equals(".") || name.equals("..")) {
        return false;
      }
    }
    return true;
  }
}
