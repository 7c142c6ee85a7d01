package io.dfly.daemon.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dfly.common.config.ConfigFiles;
import io.dfly.daemon.DaemonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProxyRulesTest {
  private static final String BLOB = "/v2/library/alpine/blobs/sha256:" + "ab".repeat(32);

  @Test
  void byDefaultOnlyRegistryBlobDownloadsGoThroughP2p() {
    ProxyRules rules = new ProxyRules(new ProxyConfig());
    assertThat(rules.viaP2p("GET", "https://registry.example" + BLOB)).isTrue();
    assertThat(rules.viaP2p("GET", "https://registry.example" + BLOB + "?ns=docker.io")).isTrue();
    assertThat(rules.viaP2p("HEAD", "https://registry.example" + BLOB)).isFalse();
    assertThat(rules.viaP2p("GET", "https://registry.example/v2/library/alpine/manifests/3.20")).isFalse();
    assertThat(rules.viaP2p("GET", "https://registry.example/v2/library/alpine/blobs/uploads/1")).isFalse();
    assertThat(ProxyRules.blobDigest("https://r" + BLOB + "?ns=x")).hasToString("sha256:" + "ab".repeat(32));
    assertThat(ProxyRules.blobDigest("https://r/files/a.tar")).isNull();
  }

  @Test
  void mirrorRequestsGoToTheRegistryContainerdNamesOrTheConfiguredOne() {
    ProxyConfig config = new ProxyConfig();
    config.registryMirror.url = "http://127.0.0.1:5000/";
    ProxyRules rules = new ProxyRules(config);
    assertThat(rules.mirrorTarget("/v2/", null)).isEqualTo("http://127.0.0.1:5000/v2/");
    assertThat(rules.mirrorTarget(BLOB + "?ns=127.0.0.1:5000", "127.0.0.1:5000"))
        .as("the configured registry keeps its scheme").isEqualTo("http://127.0.0.1:5000" + BLOB);
    assertThat(rules.mirrorTarget("/v2/a/manifests/1?ns=ghcr.io&x=1", "ghcr.io")).isEqualTo("https://ghcr.io/v2/a/manifests/1?x=1");
    assertThat(rules.mirrorTarget("/v2/", "docker.io")).isEqualTo("https://registry-1.docker.io/v2/");

    config.registryMirror.followNs = false;
    assertThat(new ProxyRules(config).mirrorTarget("/v2/?ns=ghcr.io", "ghcr.io")).isEqualTo("http://127.0.0.1:5000/v2/");
  }

  @Test
  void allowedHostsMatchHostOrHostAndPort() {
    ProxyConfig config = new ProxyConfig();
    assertThat(new ProxyRules(config).allowed("anything.example", 443)).isTrue();
    config.allowedHosts = List.of(".*\\.registry\\.internal", "127\\.0\\.0\\.1:5000");
    ProxyRules rules = new ProxyRules(config);
    assertThat(rules.allowed("eu.registry.internal", 443)).isTrue();
    assertThat(rules.allowed("127.0.0.1", 5000)).isTrue();
    assertThat(rules.allowed("127.0.0.1", 22)).isFalse();
    assertThat(rules.allowed("registry.internal.evil.example", 443)).isFalse();
  }

  @Test
  void badSettingsAreNamed() {
    ProxyConfig config = new ProxyConfig();
    config.rules = List.of("blobs/(sha256");
    assertThatThrownBy(() -> new ProxyRules(config)).hasMessageContaining("proxy.rules").hasMessageContaining("blobs/(sha256");
    ProxyConfig mirror = new ProxyConfig();
    mirror.registryMirror.url = "registry.example";
    assertThatThrownBy(() -> new ProxyRules(mirror)).hasMessageContaining("proxy.registry-mirror.url");
  }

  @Test
  void theProxySectionOfTheDaemonsYaml(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("dfdaemon.yaml"), """
        proxy:
          port: 65101
          rules: ["/v2/.+/blobs/sha256:", "\\\\.tar\\\\.gz$"]
          allowed-hosts: ["registry\\\\.internal"]
          basic-auth: {username: puller, password: s3cret}
          registry-mirror: {url: "https://registry.internal", follow-ns: false}
          https-interception: {enabled: true, hosts: ["registry\\\\.internal"]}
        """);
    DaemonConfig config = ConfigFiles.load(file, new DaemonConfig());
    assertThat(config.proxy.port).isEqualTo(65101);
    assertThat(config.proxy.listen).as("default kept").isEqualTo("127.0.0.1");
    assertThat(config.proxy.rules).containsExactly("/v2/.+/blobs/sha256:", "\\.tar\\.gz$");
    assertThat(config.proxy.allowedHosts).containsExactly("registry\\.internal");
    assertThat(config.proxy.basicAuth.username).isEqualTo("puller");
    assertThat(config.proxy.registryMirror.url).isEqualTo("https://registry.internal");
    assertThat(config.proxy.registryMirror.followNs).isFalse();
    assertThat(config.proxy.httpsInterception.enabled).isTrue();
    assertThat(config.proxy.filteredQueryParams).as("default kept").contains("Expires", "Signature", "ns");
  }
}
