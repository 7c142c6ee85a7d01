package io.dfly.dfget;

import ch.qos.logback.classic.Level;
import io.dfly.api.common.v1.Download;
import io.dfly.api.dfdaemon.v1.DfdaemonDownloadGrpc;
import io.dfly.api.dfdaemon.v1.DownloadRequest;
import io.dfly.api.dfdaemon.v1.DownloadResponse;
import io.dfly.api.dfdaemon.v1.DownloadResult;
import io.dfly.api.dfdaemon.v1.TrafficStat;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.net.HostPort;
import io.dfly.common.task.TaskId;
import io.dfly.source.SourceClients;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
    exitCodeList = {"0:the file is at the output path, verified", "1:the download failed (reason on stderr)",
        "2:bad command line"})
public final class DfgetMain implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "URL", description = "what to download (http, https)")
  String url;

  @Option(names = {"-O", "--output"}, required = true, paramLabel = "FILE", description = "output file")
  Path output;

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

  @Option(names = "--no-progress", description = "no progress bar")
  boolean noProgress;

  @Option(names = {"-v", "--verbose"}, description = "log what happens")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(verbose ? Level.DEBUG : Level.WARN);
    SourceClients.get().checkUrl(url);
    ContentDigest expected = digest == null ? null : ContentDigest.parse(digest);
    Download download = Download.newBuilder()
        .setUrl(url)
        .setTag(tag)
        .setApplication(application)
        .addAllFilteredQueryParams(TaskId.parseFilter(filteredQueryParams))
        .putAllHeaders(parseHeaders(headers))
        .setDigest(expected == null ? "" : expected.toString())
        .build();
    Path target = output.toAbsolutePath();
    long start = System.nanoTime();
    DownloadResult result = throughDaemon(download, target);
    if (result == null) {
      long bytes = StandaloneDownload.run(download, target, expected);
      System.err.printf("dfget: %s: %d bytes from the origin (no dfdaemon at %s) in %.1f s%n",
          target, bytes, daemon, seconds(start));
      return 0;
    }
    TrafficStat traffic = result.getTraffic();
    System.err.printf("dfget: %s: %d bytes%s (origin %d, seed peers %d, peers %d) in %.1f s%n", target,
        result.getContentLength(), result.getCacheHit() ? " from the local cache" : "",
        traffic.getFromOrigin(), traffic.getFromSeedPeers(), traffic.getFromPeers(), seconds(start));
    return 0;
  }

  /** Downloads through the daemon; null when no daemon answers, so the caller goes alone. */
  private DownloadResult throughDaemon(Download download, Path target) throws InterruptedException {
    HostPort address = HostPort.parse(daemon);
    ManagedChannel channel = ManagedChannelBuilder.forAddress(address.host(), address.port())
        .usePlaintext().build();
    boolean answered = false;
    try (ProgressView progress = ProgressView.create(!noProgress, target.getFileName().toString())) {
      Iterator<DownloadResponse> responses = DfdaemonDownloadGrpc.newBlockingStub(channel)
          .download(DownloadRequest.newBuilder().setDownload(download).setOutputPath(target.toString()).build());
      while (responses.hasNext()) {
        DownloadResponse response = responses.next();
        answered = true;
        if (response.hasResult()) {
          progress.done(response.getResult().getContentLength());
          return response.getResult();
        }
        progress.update(response.getProgress().getCompletedLength(), response.getProgress().getContentLength());
      }
      throw new Commands.UserError(1, "the daemon ended the download without a result");
    } catch (StatusRuntimeException e) {
      if (!answered && e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
        return null;
      }
      throw new Commands.UserError(1, e.getStatus().getDescription() != null
          ? e.getStatus().getDescription() : e.getStatus().getCode().toString());
    } finally {
      channel.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
    }
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
