package io.dfly.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class SourceEntryTest {

  @Test
  void acceptsPlainRelativePaths() {
    assertThat(SourceEntry.isSafeRelativePath("a")).isTrue();
    assertThat(SourceEntry.isSafeRelativePath("dir/sub/file name.txt")).isTrue();
    assertThat(SourceEntry.isSafeRelativePath("..hidden/x..y")).isTrue();
  }

  @Test
  void refusesPathsThatEscapeOrAreAmbiguous() {
    for (String bad : new String[] {"", "/abs", "a/../../etc", "..", "a/./b", "a//b", "dir/", "a\\..\\b", "nul\0"}) {
      assertThat(SourceEntry.isSafeRelativePath(bad)).as(bad).isFalse();
    }
    assertThatThrownBy(() -> new SourceEntry(URI.create("s3://b/x/../y"), "x/../y", 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
