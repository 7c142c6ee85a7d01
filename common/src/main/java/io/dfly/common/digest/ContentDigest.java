package io.dfly.common.digest;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * An expected digest of a whole file, written {@code algo:hex} (sha256, sha512, md5, crc32c),
 * as dfget's {@code --digest} and registries' blob digests name it.
 */
public record ContentDigest(Algorithm algorithm, String hex) {

  public enum Algorithm {
    SHA256("sha256", 64), SHA512("sha512", 128), MD5("md5", 32), CRC32C("crc32c", 8);

    final String label;
    final int hexLength;

    Algorithm(String label, int hexLength) {
      this.label = label;
      this.hexLength = hexLength;
    }

    public Hasher newHasher() {
      return switch (this) {
        case SHA256 -> new Hasher.OfMessageDigest(md("SHA-256"));
        case SHA512 -> new Hasher.OfMessageDigest(md("SHA-512"));
        case MD5 -> new Hasher.OfMessageDigest(md("MD5"));
        case CRC32C -> new Hasher.OfChecksum(new CRC32C());
      };
    }

    private static MessageDigest md(String name) {
      try {
        return MessageDigest.getInstance(name);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  public ContentDigest {
    hex = hex.toLowerCase(Locale.ROOT);
  }

  /** Parses {@code algo:hex}; throws {@link IllegalArgumentException} with a clear reason. */
  public static ContentDigest parse(String spec) {
    int colon = spec.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("digest '" + spec + "' is not of the form algo:hex");
    }
    String label = spec.substring(0, colon).toLowerCase(Locale.ROOT);
    String hex = spec.substring(colon + 1);
    for (Algorithm algorithm : Algorithm.values()) {
      if (algorithm.label.equals(label)) {
        if (hex.length() != algorithm.hexLength || !hex.chars().allMatch(HexFormat::isHexDigit)) {
          throw new IllegalArgumentException(
              "digest '" + spec + "': " + label + " takes " + algorithm.hexLength + " hex digits");
        }
        return new ContentDigest(algorithm, hex);
      }
    }
    throw new IllegalArgumentException(
        "digest '" + spec + "': unknown algorithm '" + label + "' (sha256, sha512, md5, crc32c)");
  }

  @Override
  public String toString() {
    return algorithm.label + ":" + hex;
  }

  /** A running digest over bytes fed in order. */
  public sealed interface Hasher {
    void update(byte[] bytes, int offset, int length);

    void update(java.nio.ByteBuffer buffer);

    String hex();

    record OfMessageDigest(MessageDigest digest) implements Hasher {
      @Override
      public void update(byte[] bytes, int offset, int length) {
        digest.update(bytes, offset, length);
      }

      @Override
      public void update(java.nio.ByteBuffer buffer) {
        digest.update(buffer);
      }

      @Override
      public String hex() {
        return HexFormat.of().formatHex(digest.digest());
      }
    }

    record OfChecksum(Checksum checksum) implements Hasher {
      @Override
      public void update(byte[] bytes, int offset, int length) {
        checksum.update(bytes, offset, length);
      }

      @Override
      public void update(java.nio.ByteBuffer buffer) {
        checksum.update(buffer);
      }

      @Override
      public String hex() {
        return String.format("%08x", checksum.getValue());
      }
    }
  }
}
