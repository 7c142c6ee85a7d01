package io.dfly.common.digest;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/** Small helpers over the JDK's digests. */
public final class Digests {
  private Digests() {}

  public static String sha256Hex(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The piece digest form: crc32c as 8 lowercase hex digits. */
  public static String crc32cHex(CRC32C crc) {
    return String.format("%08x", crc.getValue());
  }
}
