package io.dfly.source;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of the source clients, the {@code source:} section of a dfdaemon's YAML config
 * (kebab-case keys). Public fields so that the config loader fills them over these defaults.
 */
public class SourceOptions {
  public Tls tls = new Tls();
  public S3 s3 = new S3();
  public Hdfs hdfs = new Hdfs();

  /** TLS to https origins. */
  public static class Tls {
    /** PEM files of CA certificates trusted in addition to the system's. */
    public List<String> caCerts = new ArrayList<>();
  }

  /** s3:// origins: AWS S3 or an S3-compatible store (MinIO, OSS, OBS, Ceph RGW). */
  public static class S3 {
    /** Endpoint URL of an S3-compatible store, such as http://minio:9000; empty for AWS. */
    public String endpoint = "";
    public String region = "us-east-1";
    /**
     * Static credentials. Empty: the SDK's default chain (AWS_ACCESS_KEY_ID and
     * AWS_SECRET_ACCESS_KEY, ~/.aws, instance roles), then anonymous requests.
     */
    public String accessKeyId = "";
    public String secretAccessKey = "";
    /** Bucket in the path (http://host/bucket/key) instead of the host name: MinIO needs it. */
    public boolean pathStyle;
  }

  /** hdfs:// origins, read over WebHDFS: hdfs://namenode:http-port/path. */
  public static class Hdfs {
    /** Sent as WebHDFS's user.name (simple authentication); empty sends none. */
    public String user = "";
  }
}
