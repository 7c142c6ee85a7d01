package io.dfly.common.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.api.common.v1.Download;
import io.dfly.common.digest.Digests;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskIdTest {

  private static Download url(String url, String... filtered) {
    return Download.newBuilder().setUrl(url).addAllFilteredQueryParams(List.of(filtered)).build();
  }

  @Test
  void isSha256OverUrlTagAndApplication() {
    Download download = Download.newBuilder().setUrl("http://o/f").setTag("t").setApplication("a").build();
    assertThat(TaskId.of(download))
        .isEqualTo(Digests.sha256Hex("http://o/f\nt\na".getBytes(StandardCharsets.UTF_8)))
        .hasSize(64);
  }

  @Test
  void signedUrlsOfTheSameBlobShareATask() {
    String a = TaskId.of(url("https://o/blob?Expires=1&Signature=x&v=2", "Expires", "Signature"));
    String b = TaskId.of(url("https://o/blob?Expires=9&v=2&Signature=y", "Expires", "Signature"));
    assertThat(a).isEqualTo(b);
  }

  @Test
  void unfilteredParamsTagApplicationAndPieceLengthTellTasksApart() {
    Download base = url("https://o/blob?v=2");
    String id = TaskId.of(base);
    assertThat(TaskId.of(url("https://o/blob?v=3"))).isNotEqualTo(id);
    assertThat(TaskId.of(base.toBuilder().setTag("x").build())).isNotEqualTo(id);
    assertThat(TaskId.of(base.toBuilder().setApplication("x").build())).isNotEqualTo(id);
    assertThat(TaskId.of(base.toBuilder().setPieceLength(1 << 20).build())).isNotEqualTo(id);
    // headers and digest do not name the content's identity
    assertThat(TaskId.of(base.toBuilder().putHeaders("Authorization", "x").setDigest("md5:00").build()))
        .isEqualTo(id);
  }

  @Test
  void filterKeepsOtherParamsInOrderAndTheFragment() {
    assertThat(TaskId.filterQuery("http://o/f?a=1&s=2&b=3#frag", List.of("s"))).isEqualTo("http://o/f?a=1&b=3#frag");
    assertThat(TaskId.filterQuery("http://o/f?s=2", List.of("s"))).isEqualTo("http://o/f");
    assertThat(TaskId.filterQuery("http://o/f", List.of("s"))).isEqualTo("http://o/f");
    assertThat(TaskId.filterQuery("http://o/f?ss=1&s", List.of("s"))).isEqualTo("http://o/f?ss=1");
  }

  @Test
  void malformedUrlIsAClearError() {
    assertThatThrownBy(() -> TaskId.filterQuery("http://o/ f?x=1", List.of("x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("malformed URL");
  }

  @Test
  void parsesTheDfgetFilterForm() {
    assertThat(TaskId.parseFilter("Expires&Signature& ns ")).containsExactly("Expires", "Signature", "ns");
    assertThat(TaskId.parseFilter("")).isEmpty();
  }
}
