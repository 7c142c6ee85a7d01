package io.dfly.common.unit;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts as people write them in configs and on command lines: {@code 1048576}, {@code 512K},
 * {@code 100MiB}, {@code 1.5GB}. Units are binary (K = KiB = 1024) since they size disks and
 * buffers; a trailing "/s" is accepted so that rates read naturally ({@code 50MiB/s}).
 */
public final class ByteSize {
  private static final Pattern FORMAT =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(?:i?b)?(?:/s)?", Pattern.CASE_INSENSITIVE);

  private ByteSize() {}

  public static long parse(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a byte size (like 1048576, 512K, 100MiB, 2GiB)");
    }
    int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "k" -> 10;
      case "m" -> 20;
      case "g" -> 30;
      case "t" -> 40;
      default -> 0;
    };
    double value = Double.parseDouble(m.group(1)) * (1L << shift);
    if (value >= Long.MAX_VALUE) {
      throw new IllegalArgumentException("byte size '" + text + "' is too large");
    }
    return (long) value;
  }

  /** A short human form: 1.5 GiB, 300 MiB, 12 KiB, 17 B. */
  public static String format(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
