package io.dfly.dfget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DfgetOptionsTest {

  @Test
  void readsEveryOptionInBothSpellingsAndKeepsRepeatedHeadersInOrder() {
    DfgetOptions options = DfgetOptions.parse("-O", "/tmp/out", "http://origin/a?x=1", "--daemon=127.0.0.1:1",
        "-H", "A: 1", "--header=B: 2=3", "--tag", "t", "--application", "app", "--filtered-query-params", "a&b",
        "--digest", "sha256:00", "--limit", "50MiB", "--range", "0-9", "--timeout", "30", "--priority=high",
        "--disable-back-to-source", "-r", "--no-progress", "-v");
    assertThat(options.url).isEqualTo("http://origin/a?x=1");
    assertThat(options.output).isEqualTo("/tmp/out");
    assertThat(options.daemon).isEqualTo("127.0.0.1:1");
    assertThat(options.headers).containsExactly("A: 1", "B: 2=3");
    assertThat(options.tag).isEqualTo("t");
    assertThat(options.application).isEqualTo("app");
    assertThat(options.filteredQueryParams).isEqualTo("a&b");
    assertThat(options.digest).isEqualTo("sha256:00");
    assertThat(options.limit).isEqualTo("50MiB");
    assertThat(options.range).isEqualTo("0-9");
    assertThat(options.timeoutSeconds).isEqualTo(30L);
    assertThat(options.priority).isEqualTo("high");
    assertThat(options.disableBackToSource && options.recursive && options.noProgress && options.verbose).isTrue();
  }

  @Test
  void defaultsWhenOnlyUrlAndOutputAreGiven() {
    DfgetOptions options = DfgetOptions.parse("http://origin/a", "-O", "-");
    assertThat(options.output).isEqualTo("-");
    assertThat(options.daemon).isEqualTo(DfgetOptions.DEFAULT_DAEMON);
    assertThat(options.priority).isEqualTo("normal");
    assertThat(options.headers).isEmpty();
    assertThat(options.timeoutSeconds).isNull();
    assertThat(options.recursive || options.noProgress || options.disableBackToSource).isFalse();
  }

  @Test
  void aUrlThatLooksLikeAnOptionFollowsDoubleDash() {
    assertThat(DfgetOptions.parse("-O", "f", "--", "-weird-name").url).isEqualTo("-weird-name");
  }

  @Test
  void helpNeedsNothingElse() {
    assertThat(DfgetOptions.parse("--help").help).isTrue();
    assertThat(DfgetOptions.HELP).contains("--output", "--limit", "Exit codes");
  }

  @Test
  void badCommandLinesSayWhatIsWrong() {
    assertThatThrownBy(() -> DfgetOptions.parse("http://a")).hasMessageContaining("-O/--output");
    assertThatThrownBy(() -> DfgetOptions.parse("-O", "f")).hasMessageContaining("URL");
    assertThatThrownBy(() -> DfgetOptions.parse("http://a", "-O")).hasMessageContaining("'-O' needs a value");
    assertThatThrownBy(() -> DfgetOptions.parse("http://a", "-O", "f", "--bogus")).hasMessageContaining("'--bogus'");
    assertThatThrownBy(() -> DfgetOptions.parse("http://a", "http://b", "-O", "f")).hasMessageContaining("'http://b'");
    assertThatThrownBy(() -> DfgetOptions.parse("http://a", "-O", "f", "--timeout", "soon")).hasMessageContaining("'soon'");
    assertThatThrownBy(() -> DfgetOptions.parse("http://a", "-O", "f", "--no-progress=yes")).hasMessageContaining("takes no value");
  }
}
