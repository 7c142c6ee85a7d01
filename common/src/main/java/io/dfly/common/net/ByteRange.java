package io.dfly.common.net;

/**
 * One inclusive byte range of an HTTP {@code Range: bytes=first-last} header, resolved against
 * a known total length. Multi-range requests are not served: peers ask for one piece at a time.
 */
public record ByteRange(long first, long last) {

  public long length() {
    return last - first + 1;
  }

  /**
   * Parses a Range header against {@code total} bytes. Returns null when the header is absent;
   * throws {@link UnsatisfiableRangeException} when it cannot be served.
   */
  public static ByteRange parse(String header, long total) {
    if (header == null) {
      return null;
    }
    String spec = header.trim();
    if (!spec.startsWith("bytes=") || spec.indexOf(',') >= 0) {
      throw new UnsatisfiableRangeException("unsupported range '" + header + "'");
    }
    spec = spec.substring("bytes=".length()).trim();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      throw new UnsatisfiableRangeException("malformed range '" + header + "'");
    }
    try {
      String a = spec.substring(0, dash).trim();
      String b = spec.substring(dash + 1).trim();
      long first;
      long last;
      if (a.isEmpty()) { // suffix: the last N bytes
        long n = Long.parseLong(b);
        if (n <= 0) {
          throw new UnsatisfiableRangeException("empty suffix range '" + header + "'");
        }
        first = Math.max(0, total - n);
        last = total - 1;
      } else {
        first = Long.parseLong(a);
        last = b.isEmpty() ? total - 1 : Math.min(Long.parseLong(b), total - 1);
      }
      if (first < 0 || first > last || first >= total) {
        throw new UnsatisfiableRangeException("range '" + header + "' outside " + total + " bytes");
      }
      return new ByteRange(first, last);
    } catch (NumberFormatException e) {
      throw new UnsatisfiableRangeException("malformed range '" + header + "'");
    }
  }

  /**
   * Parses a range a caller wants before the content length is known: "FIRST-LAST" or "FIRST-"
   * (to the end, {@code last} = Long.MAX_VALUE), byte offsets, inclusive; "bytes=" is allowed.
   */
  public static ByteRange parseWanted(String spec) {
    String s = spec.trim();
    if (s.startsWith("bytes=")) {
      s = s.substring("bytes=".length());
    }
    int dash = s.indexOf('-');
    try {
      if (dash <= 0) {
        throw new NumberFormatException();
      }
      long first = Long.parseLong(s.substring(0, dash).trim());
      String end = s.substring(dash + 1).trim();
      long last = end.isEmpty() ? Long.MAX_VALUE : Long.parseLong(end);
      if (first < 0 || last < first) {
        throw new NumberFormatException();
      }
      return new ByteRange(first, last);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("range '" + spec + "' is not FIRST-LAST or FIRST- (byte offsets, inclusive)");
    }
  }

  public String contentRange(long total) {
    return "bytes " + first + "-" + last + "/" + total;
  }

  public String header() {
    return "bytes=" + first + "-" + last;
  }

  public static final class UnsatisfiableRangeException extends RuntimeException {
    public UnsatisfiableRangeException(String message) {
      super(message);
    }
  }
}
