package io.dfly.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.common.config.ConfigFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigTest {
  @Test
  void readsTheNestedSectionsAnOperatorWrites(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("dfdaemon.yaml"), """
        scheduler: ["10.0.0.1:8002"]
        piece-timeout-seconds: 20
        download-rate: 500MiB
        upload-limit: 50
        gc:
          task-ttl-seconds: 3600
          quota: 200GiB
        source:
          tls: {ca-certs: [/etc/ssl/private-ca.pem]}
          s3: {endpoint: "http://minio:9000", region: eu-west-1, path-style: true}
          hdfs: {user: hadoop}
        """);
    DaemonConfig config = ConfigFiles.load(file, new DaemonConfig());
    assertThat(config.scheduler).containsExactly("10.0.0.1:8002");
    assertThat(config.pieceTimeoutSeconds).isEqualTo(20);
    assertThat(config.downloadRate).isEqualTo("500MiB");
    assertThat(config.uploadLimit).isEqualTo(50);
    assertThat(config.gc.taskTtlSeconds).isEqualTo(3600);
    assertThat(config.gc.quota).isEqualTo("200GiB");
    assertThat(config.gc.highWatermarkPercent).as("defaults kept where the file is silent").isEqualTo(80);
    assertThat(config.source.tls.caCerts).isEqualTo(List.of("/etc/ssl/private-ca.pem"));
    assertThat(config.source.s3.endpoint).isEqualTo("http://minio:9000");
    assertThat(config.source.s3.region).isEqualTo("eu-west-1");
    assertThat(config.source.s3.pathStyle).isTrue();
    assertThat(config.source.hdfs.user).isEqualTo("hadoop");
  }
}
