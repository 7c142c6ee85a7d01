package io.dfly.common.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ByteRangeTest {

  @Test
  void parsesClosedOpenAndSuffixRanges() {
    assertThat(ByteRange.parse("bytes=0-99", 1000)).isEqualTo(new ByteRange(0, 99));
    assertThat(ByteRange.parse("bytes=900-", 1000)).isEqualTo(new ByteRange(900, 999));
    assertThat(ByteRange.parse("bytes=-100", 1000)).isEqualTo(new ByteRange(900, 999));
    assertThat(ByteRange.parse("bytes=990-5000", 1000)).isEqualTo(new ByteRange(990, 999));
    assertThat(ByteRange.parse(null, 1000)).isNull();
    assertThat(new ByteRange(10, 19).contentRange(1000)).isEqualTo("bytes 10-19/1000");
    assertThat(new ByteRange(10, 19).length()).isEqualTo(10);
  }

  @Test
  void refusesWhatCannotBeServed() {
    assertThatThrownBy(() -> ByteRange.parse("bytes=1000-", 1000)).isInstanceOf(ByteRange.UnsatisfiableRangeException.class);
    assertThatThrownBy(() -> ByteRange.parse("bytes=5-1", 1000)).isInstanceOf(ByteRange.UnsatisfiableRangeException.class);
    assertThatThrownBy(() -> ByteRange.parse("bytes=0-1,5-6", 1000)).isInstanceOf(ByteRange.UnsatisfiableRangeException.class);
    assertThatThrownBy(() -> ByteRange.parse("items=0-1", 1000)).isInstanceOf(ByteRange.UnsatisfiableRangeException.class);
    assertThatThrownBy(() -> ByteRange.parse("bytes=a-b", 1000)).isInstanceOf(ByteRange.UnsatisfiableRangeException.class);
  }

  @Test
  void hostPortParsing() {
    assertThat(HostPort.parse("10.0.0.1:8002")).isEqualTo(new HostPort("10.0.0.1", 8002));
    assertThat(HostPort.parse("[::1]:65000")).isEqualTo(new HostPort("::1", 65000));
    assertThatThrownBy(() -> HostPort.parse("nohost")).hasMessageContaining("HOST:PORT");
    assertThatThrownBy(() -> HostPort.parse("h:99999")).hasMessageContaining("out of range");
  }

  @Test
  void parsesWantedRangesBeforeTheLengthIsKnown() {
    assertThat(ByteRange.parseWanted("10-19")).isEqualTo(new ByteRange(10, 19));
    assertThat(ByteRange.parseWanted("bytes=5-")).isEqualTo(new ByteRange(5, Long.MAX_VALUE));
    for (String bad : new String[] {"-5", "9-3", "x-1", ""}) {
      assertThatThrownBy(() -> ByteRange.parseWanted(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is not FIRST-LAST");
    }
  }
}
