package io.dfly.common.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ByteSizeTest {
  @Test
  void parsesPlainAndBinaryUnits() {
    assertThat(ByteSize.parse("1048576")).isEqualTo(1048576);
    assertThat(ByteSize.parse("512K")).isEqualTo(512 * 1024);
    assertThat(ByteSize.parse("100MiB")).isEqualTo(100L << 20);
    assertThat(ByteSize.parse("1.5GB")).isEqualTo(3L << 29);
    assertThat(ByteSize.parse(" 50 mib/s ")).isEqualTo(50L << 20);
    assertThat(ByteSize.parse("2t")).isEqualTo(2L << 40);
  }

  @Test
  void rejectsWhatIsNotASize() {
    assertThatThrownBy(() -> ByteSize.parse("fast")).hasMessageContaining("'fast' is not a byte size");
    assertThatThrownBy(() -> ByteSize.parse("-1M")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ByteSize.parse("10X")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void formatsForPeople() {
    assertThat(ByteSize.format(17)).isEqualTo("17 B");
    assertThat(ByteSize.format(3L << 29)).isEqualTo("1.5 GiB");
  }
}
