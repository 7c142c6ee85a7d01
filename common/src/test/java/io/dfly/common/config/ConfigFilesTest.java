package io.dfly.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFilesTest {
  @TempDir
  Path dir;

  public static class Sample {
    public String dataDir = "/default";
    public int grpcPort = 65000;
    public List<String> scheduler = List.of("127.0.0.1:8002");
  }

  @Test
  void fileValuesOverrideDefaultsWithKebabCaseKeys() throws IOException {
    Path file = Files.writeString(dir.resolve("c.yaml"), "grpc-port: 7000\nscheduler: [a:1, b:2]\n");
    Sample sample = ConfigFiles.load(file, new Sample());
    assertThat(sample.grpcPort).isEqualTo(7000);
    assertThat(sample.scheduler).containsExactly("a:1", "b:2");
    assertThat(sample.dataDir).isEqualTo("/default");
    assertThat(ConfigFiles.load(null, new Sample()).grpcPort).isEqualTo(65000);
  }

  @Test
  void unknownKeysAndMissingFilesAreOneLineErrors() throws IOException {
    Path file = Files.writeString(dir.resolve("c.yaml"), "grpc-port: 7000\ngrpc-prot: 1\n");
    assertThatThrownBy(() -> ConfigFiles.load(file, new Sample()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line 2")
        .hasMessageContaining("grpc-prot")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertThatThrownBy(() -> ConfigFiles.load(dir.resolve("none.yaml"), new Sample()))
        .hasMessageContaining("not readable");
  }
}
