package io.dfly.source;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of the source clients, the {@code source:} section of a dfdaemon's YAML config
 * (kebab-case keys). Public fields so that the config loader fills them over these defaults.
 */
public class SourceOptions {
  public Tls tls = new Tls();

  /** TLS to https origins. */
  public static class Tls {
    /** PEM files of CA certificates trusted in addition to the system's. */
    public List<String> caCerts = new ArrayList<>();
    /** Accept any certificate: for tests against self-signed origins only. */
    public boolean insecureSkipVerify;
  }
}
