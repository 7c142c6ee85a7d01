package io.dfly.daemon;

import io.dfly.source.SourceOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * Every setting of a dfdaemon, loaded from YAML ({@code --config}, kebab-case keys) over these
 * defaults; command-line options override the file.
 */
public class DaemonConfig {
  /** Schedulers, {@code HOST:PORT} each. */
  public List<String> scheduler = new ArrayList<>(List.of("127.0.0.1:8002"));
  public String dataDir = "/var/lib/dfly/daemon";
  /** Address peers reach this daemon on; dfget always reaches it on 127.0.0.1 too. */
  public String listen = "127.0.0.1";
  /** Address announced to the scheduler when {@link #listen} is a wildcard. */
  public String advertiseIp;
  public int grpcPort = 65000;
  public int uploadPort = 65002;
  /**
   * The secret shared by the cluster's schedulers and dfdaemons (inline, or better a file only the
   * service can read); required when {@link #listen} is not loopback.
   */
  public String clusterToken = "";
  public String clusterTokenFile = "";
  /** Loopback port of the local API that dfget, dfcache and 'dfdaemon limits' call. */
  public int apiPort = 65003;
  public boolean seedPeer;
  public String hostname;
  public String idc = "";
  /** Hierarchical location, e.g. "country|region|zone". */
  public String location = "";
  /** Pieces downloaded at once per task, from all parents and the origin together. */
  public int pieceConcurrency = 16;
  /** Pieces downloaded at once from one parent. */
  public int perParentConcurrency = 4;
  /** Range requests at once to the origin when fetching back-to-source. */
  public int originConcurrency = 8;
  /**
   * A piece download from a parent or the origin that receives no byte for this long fails and
   * goes elsewhere; a parent that hangs so is let go at once. A busy but healthy parent still
   * sends bytes (a rate-limited upload sends a chunk every tenth of a second or so).
   */
  public int pieceTimeoutSeconds = 10;
  /** With no event at all for this long, a task falls back to the origin. */
  public int stallTimeoutSeconds = 60;
  /** How often the host is announced again, so a restarted scheduler learns it. */
  public int announceIntervalSeconds = 30;
  /** Concurrent uploads this host accepts (more get HTTP 503), announced to the scheduler. */
  public int uploadLimit = 200;
  /** Total download rate of the host, like "100MiB" (per second); empty: unlimited. Changeable live. */
  public String downloadRate = "";
  /** Total upload rate of the host to other peers; empty: unlimited. Changeable live. */
  public String uploadRate = "";
  /** Origins: TLS trust, S3 endpoint and credentials, HDFS user. */
  public SourceOptions source = new SourceOptions();
  /**
   * Task data written and uploaded past the page cache (O_DIRECT) where the filesystem allows it.
   * For hosts where page-cache memory is dear: VMs whose freed memory goes back to the hypervisor
   * (every new page then costs a fault on the host; see docs/benchmarks.md), or hosts whose
   * applications should keep their page cache. Readers of a task's data then read from disk.
   */
  public boolean directIo;
  /** Piece store bounds and garbage collection. */
  public Gc gc = new Gc();
  /** HTTP proxy and registry mirror for container runtimes. */
  public io.dfly.daemon.proxy.ProxyConfig proxy = new io.dfly.daemon.proxy.ProxyConfig();

  /** When the piece store lets go of tasks. */
  public static class Gc {
    public int intervalSeconds = 60;
    /** A task unused for this long is removed (pinned ones are kept). */
    public long taskTtlSeconds = 6 * 3600;
    /** Above this disk use (percent), least recently used tasks go... */
    public int highWatermarkPercent = 80;
    /** ...until use is back under this. */
    public int lowWatermarkPercent = 60;
    /** Most the store may hold, like "200GiB"; empty: bounded by the filesystem alone. */
    public String quota = "";
  }
}
