package io.dfly.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host name a dfdaemon announces when the config names none. */
class LocalHostnameTest {
  @TempDir
  Path dir;

  @Test
  void aNameThatResolvesIsUsed() throws Exception {
    assertThat(Dfdaemon.localHostname(() -> "node-1.example", dir.resolve("absent"))).isEqualTo("node-1.example");
  }

  @Test
  void aNameThatDoesNotResolveFallsBackToTheKernelsName() throws Exception {
    Path kernelName = Files.writeString(dir.resolve("hostname"), "node-7\n");
    assertThat(Dfdaemon.localHostname(() -> {
      throw new UnknownHostException("node-7: node-7: Name or service not known");
    }, kernelName)).isEqualTo("node-7");
  }

  @Test
  void withNeitherTheErrorSaysWhatToSet() {
    assertThatThrownBy(() -> Dfdaemon.localHostname(() -> {
      throw new UnknownHostException("node-7: Name or service not known");
    }, dir.resolve("absent")))
        .isInstanceOf(UnknownHostException.class)
        .hasMessageContaining("set hostname in the dfdaemon config");
  }
}
