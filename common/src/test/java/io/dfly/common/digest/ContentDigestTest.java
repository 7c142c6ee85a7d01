package io.dfly.common.digest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ContentDigestTest {
  private static final byte[] ABC = "abc".getBytes(StandardCharsets.US_ASCII);

  private static String hash(ContentDigest.Algorithm algorithm, byte[] data) {
    ContentDigest.Hasher hasher = algorithm.newHasher();
    hasher.update(data, 0, 1);
    hasher.update(ByteBuffer.wrap(data, 1, data.length - 1));
    return hasher.hex();
  }

  @Test
  void knownVectors() {
    assertThat(hash(ContentDigest.Algorithm.SHA256, ABC))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assertThat(hash(ContentDigest.Algorithm.MD5, ABC)).isEqualTo("900150983cd24fb0d6963f7d28e17f72");
    assertThat(hash(ContentDigest.Algorithm.SHA512, ABC)).startsWith("ddaf35a193617aba");
    // crc32c check value of "123456789" (RFC 3720)
    assertThat(hash(ContentDigest.Algorithm.CRC32C, "123456789".getBytes(StandardCharsets.US_ASCII)))
        .isEqualTo("e3069283");
  }

  @Test
  void parsesAndNormalisesCase() {
    ContentDigest digest = ContentDigest.parse("SHA256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    assertThat(digest.algorithm()).isEqualTo(ContentDigest.Algorithm.SHA256);
    assertThat(digest.toString()).isEqualTo("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void badDigestsAreClearErrors() {
    assertThatThrownBy(() -> ContentDigest.parse("abc")).hasMessageContaining("algo:hex");
    assertThatThrownBy(() -> ContentDigest.parse("sha1:abcd")).hasMessageContaining("unknown algorithm 'sha1'");
    assertThatThrownBy(() -> ContentDigest.parse("sha256:abcd")).hasMessageContaining("64 hex digits");
    assertThatThrownBy(() -> ContentDigest.parse("md5:zz0150983cd24fb0d6963f7d28e17f72"))
        .hasMessageContaining("32 hex digits");
  }
}
