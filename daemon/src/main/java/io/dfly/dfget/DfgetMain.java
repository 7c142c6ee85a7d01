package io.dfly.dfget;

import ch.qos.logback.classic.Level;
import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Priority;
import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.DownloadRequest;
import io.dfly.api.dfdaemon.v1.DownloadResponse;
import io.dfly.api.dfdaemon.v1.DownloadResult;
import io.dfly.api.dfdaemon.v1.TrafficStat;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.net.HostPort;
import io.dfly.common.task.TaskId;
import io.dfly.common.unit.ByteSize;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "dfget", mixinStandardHelpOptions = true,
    description = "Downloads a URL through the local dfdaemon (P2P), or straight from the origin when "
        + "no daemon runs. The output appears only once complete and verified.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:the file is at the output path, verified",
        "1:the download failed: origin error, no peer could serve (reason on stderr)",
        "2:bad command line or request",
        "3:the content did not verify (--digest or length mismatch)",
        "4:timed out (--timeout)",
        "5:the daemon's disk is full or over its quota",
        "6:the output cannot be written"})
public final class DfgetMain implements Callable<Integer> {
  static final int FAILED = 1;
  static final int BAD_REQUEST = 2;
  static final int BAD_CONTENT = 3;
  static final int TIMED_OUT = 4;
  static final int NO_SPACE = 5;
  static final int CANNOT_WRITE = 6;

  @Parameters(index = "0", paramLabel = "URL",
      description = "what to download: http, https, s3, hdfs or file URL; with --recursive a directory or prefix")
  String url;

  @Option(names = {"-O", "--output"}, required = true, paramLabel = "FILE",
      description = "output file; '-' for stdout; with --recursive a directory")
  String output;

  @Option(names = "--daemon", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:65000",
      description = "the local dfdaemon (default ${DEFAULT-VALUE})")
  String daemon;

  @Option(names = "--digest", paramLabel = "ALGO:HEX", description = "expected digest: sha256, sha512, md5 or crc32c")
  String digest;

  @Option(names = {"-H", "--header"}, paramLabel = "'K: V'", description = "request header for the origin (repeatable)")
  List<String> headers = List.of();

  @Option(names = "--tag", defaultValue = "", description = "tells apart tasks of the same URL")
  String tag;

  @Option(names = "--application", defaultValue = "", description = "the caller's application, part of the task id")
  String application;

  @Option(names = "--filtered-query-params", paramLabel = "'a&b'", defaultValue = "",
      description = "query parameters left out of the task id, e.g. 'Expires&Signature'")
  String filteredQueryParams;

  @Option(names = "--limit", paramLabel = "RATE", description = "this download's rate limit, like 50MiB (per second)")
  String limit;

  @Option(names = "--range", paramLabel = "FIRST-LAST",
      description = "only these bytes (offsets, inclusive; FIRST- for the rest of the file)")
  String range;

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "give up after this long (exit code 4)")
  Long timeoutSeconds;

  @Option(names = "--priority", paramLabel = "LEVEL", defaultValue = "normal",
      description = "low, normal or high: the share of the host's download capacity (default ${DEFAULT-VALUE})")
  String priority;

  @Option(names = "--disable-back-to-source", description = "fail rather than fetch from the origin when no peer can serve")
  boolean disableBackToSource;

  @Option(names = {"-r", "--recursive"}, description = "download every file below the URL (directory, object prefix) into -O")
  boolean recursive;

  @Option(names = "--no-progress", description = "no progress bar")
  boolean noProgress;

  @Option(names = {"-v", "--verbose"}, description = "log what happens")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    // The launcher skips logging altogether unless --verbose; with logback present, keep it quiet.
    if (LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
      root.setLevel(verbose ? Level.DEBUG : Level.WARN);
    }
    boolean toStdout = output.equals("-");
    if (recursive) {
      if (toStdout || range != null) {
        throw new Commands.UserError(BAD_REQUEST, "--recursive needs a directory as -O, and takes no --range");
      }
      return recursive();
    }
    return fetch(url, toStdout ? null : Path.of(output).toAbsolutePath(), digest);
  }

  private Download download(String fileUrl, ContentDigest expected) {
    boolean cached = fileUrl.startsWith(TaskManager.CACHE_SCHEME);
    if (!cached) {
      SourceClients.parse(fileUrl); // the daemon checks the scheme; loading every client here costs start-up
    }
    return Download.newBuilder()
        .setUrl(fileUrl)
        .setTag(tag)
        .setApplication(application)
        .addAllFilteredQueryParams(TaskId.parseFilter(filteredQueryParams))
        .putAllHeaders(parseHeaders(headers))
        .setDigest(expected == null ? "" : expected.toString())
        .setPriority(parsePriority(priority))
        .setDisableBackToSource(disableBackToSource || cached)
        .build();
  }

  /** Fetches one URL to {@code target} (null: stdout). */
  private int fetch(String fileUrl, Path target, String digestSpec) throws InterruptedException {
    ContentDigest expected = digestSpec == null ? null : ContentDigest.parse(digestSpec);
    Download download = download(fileUrl, expected);
    long start = System.nanoTime();
    String name = target == null ? "stdout" : target.toString();
    DownloadResult result = throughDaemon(download, target);
    if (result == null) {
      if (download.getDisableBackToSource()) {
        throw new Commands.UserError(FAILED, "no dfdaemon at " + daemon + " and "
            + (url.startsWith(TaskManager.CACHE_SCHEME) ? "a cached file has no origin" : "--disable-back-to-source is set"));
      }
      long bytes = StandaloneDownload.run(download, target, expected, range);
      System.err.printf("dfget: %s: %d bytes from the origin (no dfdaemon at %s) in %.1f s%n",
          name, bytes, daemon, seconds(start));
      return 0;
    }
    TrafficStat traffic = result.getTraffic();
    System.err.printf("dfget: %s: %d bytes%s (origin %d, seed peers %d, peers %d) in %.1f s%n", name,
        result.getContentLength(), result.getCacheHit() ? " from the local cache" : "",
        traffic.getFromOrigin(), traffic.getFromSeedPeers(), traffic.getFromPeers(), seconds(start));
    return 0;
  }

  /** Lists the URL's files and fetches each below the output directory, keeping the tree. */
  private int recursive() throws InterruptedException {
    URI base = SourceClients.get().checkUrl(url);
    List<SourceEntry> entries;
    try {
      entries = SourceClients.get().forUrl(base).list(SourceRequest.whole(base, parseHeaders(headers)));
    } catch (SourceException e) {
      throw new Commands.UserError(FAILED, e.getMessage());
    }
    Path root = Path.of(output).toAbsolutePath();
    int failed = 0;
    int worst = 0;
    for (SourceEntry entry : entries) {
      Path target = root.resolve(entry.relativePath()).normalize();
      if (!target.startsWith(root)) {
        throw new Commands.UserError(FAILED, "listing entry " + entry.relativePath() + " escapes " + root);
      }
      try {
        fetch(entry.url().toString(), target, null);
      } catch (Commands.UserError e) {
        failed++;
        worst = Math.max(worst, e.exitCode());
        System.err.println("dfget: " + entry.url() + ": " + e.getMessage());
      }
    }
    System.err.printf("dfget: %d of %d files under %s%n", entries.size() - failed, entries.size(), root);
    return failed == 0 ? 0 : worst;
  }

  /** Downloads through the daemon; null when no daemon answers, so the caller goes alone. */
  private DownloadResult throughDaemon(Download download, Path target) throws InterruptedException {
    HostPort address = HostPort.parse(daemon);
    ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port())
        .usePlaintext().maxInboundMessageSize(8 << 20).build();
    boolean answered = false;
    DownloadRequest.Builder request = DownloadRequest.newBuilder().setDownload(download)
        .setOutputPath(target == null ? "" : target.toString())
        .setRange(range == null ? "" : range);
    if (limit != null) {
      request.setRateLimit(ByteSize.parse(limit));
    }
    DfdaemonDownloadGrpc.DfdaemonDownloadBlockingStub stub = DfdaemonDownloadGrpc.newBlockingStub(channel);
    if (timeoutSeconds != null) {
      stub = stub.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
    }
    FileChannel stdout = target == null ? new FileOutputStream(FileDescriptor.out).getChannel() : null;
    try (ProgressView progress = ProgressView.create(!noProgress, target == null ? "stdout" : target.getFileName().toString())) {
      Iterator<DownloadResponse> responses = stub.download(request.build());
      long written = 0;
      while (responses.hasNext()) {
        DownloadResponse response = responses.next();
        answered = true;
        switch (response.getResponseCase()) {
          case RESULT -> {
            progress.done(response.getResult().getContentLength());
            return response.getResult();
          }
          case DATA -> {
            for (java.nio.ByteBuffer chunk : response.getData().asReadOnlyByteBufferList()) {
              while (chunk.hasRemaining()) {
                stdout.write(chunk);
              }
            }
            written += response.getData().size();
            progress.update(written, -1);
          }
          case PROGRESS -> progress.update(response.getProgress().getCompletedLength(),
              response.getProgress().getContentLength());
          case RESPONSE_NOT_SET -> { }
        }
      }
      throw new Commands.UserError(FAILED, "the daemon ended the download without a result");
    } catch (StatusRuntimeException e) {
      if (!answered && e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
        return null;
      }
      throw failure(e.getStatus());
    } catch (IOException e) {
      throw new Commands.UserError(CANNOT_WRITE, "cannot write stdout: " + e.getMessage());
    } finally {
      channel.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
    }
  }

  private Commands.UserError failure(Status status) {
    String reason = status.getDescription() != null ? status.getDescription() : status.getCode().toString();
    return switch (status.getCode()) {
      case DEADLINE_EXCEEDED -> new Commands.UserError(TIMED_OUT, "timed out after " + timeoutSeconds + " s");
      case INVALID_ARGUMENT -> new Commands.UserError(BAD_REQUEST, reason);
      case DATA_LOSS -> new Commands.UserError(BAD_CONTENT, reason);
      case RESOURCE_EXHAUSTED -> new Commands.UserError(NO_SPACE, reason);
      case FAILED_PRECONDITION -> new Commands.UserError(CANNOT_WRITE, reason);
      default -> new Commands.UserError(FAILED, reason);
    };
  }

  static Priority parsePriority(String level) {
    return switch (level.toLowerCase(java.util.Locale.ROOT)) {
      case "low" -> Priority.PRIORITY_LOW;
      case "normal" -> Priority.PRIORITY_NORMAL;
      case "high" -> Priority.PRIORITY_HIGH;
      default -> throw new IllegalArgumentException("priority '" + level + "' is not low, normal or high");
    };
  }

  static Map<String, String> parseHeaders(List<String> headers) {
    Map<String, String> parsed = new LinkedHashMap<>();
    for (String header : headers) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("header '" + header + "' is not of the form 'Name: value'");
      }
      parsed.put(header.substring(0, colon).trim(), header.substring(colon + 1).trim());
    }
    return parsed;
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  public static void main(String[] args) {
    Commands.exit(new DfgetMain(), args);
  }
}
