package io.dfly.dfget;

import ch.qos.logback.classic.Level;
import io.dfly.api.common.v1.Download;
import io.dfly.common.cli.Commands;
import io.dfly.common.digest.ContentDigest;
import io.dfly.common.task.TaskId;
import io.dfly.common.unit.ByteSize;
import io.dfly.daemon.local.LocalApi;
import io.dfly.daemon.local.LocalApiClient;
import io.dfly.daemon.peer.TaskManager;
import io.dfly.source.SourceClients;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/** The dfget command: see {@link DfgetOptions#HELP}. */
public final class DfgetMain {
  static final int FAILED = 1;
  static final int BAD_REQUEST = 2;
  static final int BAD_CONTENT = 3;
  static final int TIMED_OUT = 4;
  static final int NO_SPACE = 5;
  static final int CANNOT_WRITE = 6;
  /** The slf4j provider the launcher names when dfget runs without logging. */
  private static final String NO_LOGGING = "org.slf4j.helpers.NOP_FallbackServiceProvider";
  /** A compile-time constant: naming it here loads nothing of the daemon. */
  private static final String CACHE_SCHEME = TaskManager.CACHE_SCHEME;

  private final String url;
  private final String output;
  private final String daemon;
  private final String digest;
  private final List<String> headers;
  private final String tag;
  private final String application;
  private final String filteredQueryParams;
  private final String limit;
  private final String range;
  private final Long timeoutSeconds;
  private final String priority;
  private final boolean disableBackToSource;
  private final boolean recursive;
  private final boolean noProgress;
  private final boolean verbose;

  private DfgetMain(DfgetOptions options) {
    url = options.url;
    output = options.output;
    daemon = options.daemon;
    digest = options.digest;
    headers = List.copyOf(options.headers);
    tag = options.tag;
    application = options.application;
    filteredQueryParams = options.filteredQueryParams;
    limit = options.limit;
    range = options.range;
    timeoutSeconds = options.timeoutSeconds;
    priority = options.priority;
    disableBackToSource = options.disableBackToSource;
    recursive = options.recursive;
    noProgress = options.noProgress;
    verbose = options.verbose;
  }

  /** Runs dfget with these arguments and returns its exit code; failures are one line on stderr. */
  public static int run(String... args) {
    DfgetOptions options;
    try {
      options = DfgetOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("dfget: " + e.getMessage());
      System.err.println("Try 'dfget --help' for more.");
      return BAD_REQUEST;
    }
    if (options.help) {
      System.out.print(DfgetOptions.HELP);
      return 0;
    }
    try {
      return new DfgetMain(options).call();
    } catch (Commands.UserError e) {
      System.err.println("dfget: " + e.getMessage());
      return e.exitCode();
    } catch (IllegalArgumentException e) {
      System.err.println("dfget: " + e.getMessage());
      return BAD_REQUEST;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      System.err.println("dfget: interrupted");
      return FAILED;
    }
  }

  private int call() throws InterruptedException {
    // The launcher runs dfget without a logging framework unless --verbose (starting one costs
    // start-up time); started some other way, with logback present, it is kept quiet.
    boolean noLogging = NO_LOGGING.equals(System.getProperty("slf4j.provider"));
    if (!noLogging
        && LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
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

  /** Fetches one URL to {@code target} (null: stdout). */
  private int fetch(String fileUrl, Path target, String digestSpec) throws InterruptedException {
    ContentDigest expected = digestSpec == null ? null : ContentDigest.parse(digestSpec);
    boolean cached = fileUrl.startsWith(CACHE_SCHEME);
    if (!cached) {
      SourceClients.parse(fileUrl); // the daemon checks the scheme; loading every client here costs start-up
    }
    boolean noOrigin = disableBackToSource || cached;
    long start = System.nanoTime();
    String name = target == null ? "stdout" : target.toString();
    Map<String, String> result = throughDaemon(fileUrl, target, expected, noOrigin);
    if (result == null) {
      if (noOrigin) {
        throw new Commands.UserError(FAILED, "no dfdaemon at " + daemon + " and "
            + (cached ? "a cached file has no origin" : "--disable-back-to-source is set"));
      }
      long bytes = StandaloneDownload.run(standalone(fileUrl, expected), target, expected, range);
      System.err.printf("dfget: %s: %d bytes from the origin (no dfdaemon at %s) in %.1f s%n",
          name, bytes, daemon, seconds(start));
      return 0;
    }
    System.err.printf("dfget: %s: %s bytes%s (origin %s, seed peers %s, peers %s) in %.1f s%n", name,
        result.get("content-length"), Boolean.parseBoolean(result.get("cache-hit")) ? " from the local cache" : "",
        result.get("from-origin"), result.get("from-seed-peers"), result.get("from-peers"), seconds(start));
    return 0;
  }

  private Download standalone(String fileUrl, ContentDigest expected) {
    return Download.newBuilder()
        .setUrl(fileUrl)
        .addAllFilteredQueryParams(TaskId.parseFilter(filteredQueryParams))
        .putAllHeaders(parseHeaders(headers))
        .setDigest(expected == null ? "" : expected.toString())
        .build();
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
  private Map<String, String> throughDaemon(String fileUrl, Path target, ContentDigest expected, boolean noOrigin) {
    parseHeaders(headers); // malformed headers are this command line's error, before any daemon is asked
    LocalApi.Form request = new LocalApi.Form()
        .add("url", fileUrl)
        .add("output", target)
        .add("tag", tag)
        .add("application", application)
        .add("filtered-query-params", filteredQueryParams)
        .add("digest", expected)
        .add("priority", parsePriority(priority))
        .add("rate-limit", limit == null ? null : ByteSize.parse(limit))
        .add("range", range)
        .add("disable-back-to-source", noOrigin);
    headers.forEach(header -> request.add("header", header));
    FileChannel stdout = target == null ? new FileOutputStream(FileDescriptor.out).getChannel() : null;
    try (ProgressView progress = ProgressView.create(!noProgress, target == null ? "stdout" : target.getFileName().toString())) {
      Map<String, String> result = LocalApiClient.call(daemon, LocalApi.DOWNLOAD, request, new LocalApiClient.Listener() {
        private final byte[] buffer = new byte[1 << 20];
        private long written;

        @Override
        public void progress(long completedLength, long contentLength) {
          progress.update(completedLength, contentLength);
        }

        @Override
        public void data(InputStream in, int length) throws IOException {
          for (int left = length; left > 0; ) {
            int n = in.read(buffer, 0, Math.min(buffer.length, left));
            if (n < 0) {
              throw new EOFException("the daemon closed the stream mid-frame");
            }
            ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
            try {
              while (chunk.hasRemaining()) {
                stdout.write(chunk);
              }
            } catch (IOException e) {
              throw new StdoutException(e);
            }
            left -= n;
            written += n;
          }
          progress.update(written, -1);
        }
      }, timeoutSeconds == null ? 0 : timeoutSeconds * 1000);
      progress.done(Long.parseLong(result.get("content-length")));
      return result;
    } catch (ConnectException e) {
      return null;
    } catch (SocketTimeoutException e) {
      throw new Commands.UserError(TIMED_OUT, "timed out after " + timeoutSeconds + " s");
    } catch (StdoutException e) {
      throw new Commands.UserError(CANNOT_WRITE, "cannot write stdout: " + e.getCause().getMessage());
    } catch (IOException e) {
      throw new Commands.UserError(FAILED, "the dfdaemon at " + daemon + " failed: " + e.getMessage());
    } catch (LocalApiClient.DaemonError e) {
      throw new Commands.UserError(switch (e.kind()) {
        case BAD_REQUEST -> BAD_REQUEST;
        case BAD_CONTENT -> BAD_CONTENT;
        case NO_SPACE -> NO_SPACE;
        case CANNOT_WRITE -> CANNOT_WRITE;
        default -> FAILED;
      }, e.getMessage());
    }
  }

  /** Writing stdout failed: the reader went away or the disk behind it is full. */
  private static final class StdoutException extends IOException {
    StdoutException(IOException cause) {
      super(cause);
    }
  }

  /** Checks a --priority value; the daemon takes it by name. */
  static String parsePriority(String level) {
    String name = level.toLowerCase(java.util.Locale.ROOT);
    return switch (name) {
      case "low", "normal", "high" -> name;
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

  public static void main(String[] args) throws IOException, InterruptedException {
    // The launcher's one-off run that teaches the JVM's start-up cache (see StartUpTraining).
    if (args.length == 1 && args[0].equals(StartUpTraining.FLAG)) {
      System.exit(StartUpTraining.run());
    }
    System.exit(run(args));
  }
}
