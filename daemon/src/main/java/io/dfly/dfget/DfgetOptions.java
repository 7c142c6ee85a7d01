package io.dfly.dfget;

import java.util.ArrayList;
import java.util.List;

/**
 * dfget's command line. Parsed by hand, not with picocli as the other commands are: picocli's
 * classes are compiled for Java 5, so the JVM cannot keep them in its class-data archive, and
 * loading them cost about 0.1 s of CPU on every run: as much as the rest of a cached download.
 */
final class DfgetOptions {
  static final String DEFAULT_DAEMON = "127.0.0.1:65003";

  static final String HELP = """
      Usage: dfget [OPTIONS] URL -O FILE
      Downloads a URL through the local dfdaemon (P2P), or straight from the origin when no
      daemon runs. The output appears only once complete and verified.

        URL                        what to download: http, https, s3, hdfs or file URL;
                                   with --recursive a directory or prefix
        -O, --output FILE          output file; '-' for stdout; with --recursive a directory
            --daemon HOST:PORT     the local dfdaemon's API address (default 127.0.0.1:65003)
            --digest ALGO:HEX      expected digest: sha256, sha512, md5 or crc32c
        -H, --header 'K: V'        request header for the origin (repeatable)
            --tag TAG              tells apart tasks of the same URL
            --application NAME     the caller's application, part of the task id
            --filtered-query-params 'a&b'
                                   query parameters left out of the task id, e.g. 'Expires&Signature'
            --limit RATE           this download's rate limit, like 50MiB (per second)
            --range FIRST-LAST     only these bytes (offsets, inclusive; FIRST- for the rest)
            --timeout SECONDS      give up after this long (exit code 4)
            --priority LEVEL       low, normal or high: the share of the host's download
                                   capacity (default normal)
            --disable-back-to-source
                                   fail rather than fetch from the origin when no peer can serve
        -r, --recursive            download every file below the URL (directory, object prefix)
                                   into -O
            --no-progress          no progress bar
        -v, --verbose              log what happens
        -h, --help                 this text

      Options take their value as the next argument or after '=' (--limit=50MiB).

      Exit codes:
        0   the file is at the output path, verified
        1   the download failed: origin error, no peer could serve (reason on stderr)
        2   bad command line or request
        3   the content did not verify (--digest or length mismatch)
        4   timed out (--timeout)
        5   the daemon's disk is full or over its quota
        6   the output cannot be written
      """;

  String url;
  String output;
  String daemon = DEFAULT_DAEMON;
  String digest;
  final List<String> headers = new ArrayList<>();
  String tag = "";
  String application = "";
  String filteredQueryParams = "";
  String limit;
  String range;
  Long timeoutSeconds;
  String priority = "normal";
  boolean disableBackToSource;
  boolean recursive;
  boolean noProgress;
  boolean verbose;
  boolean help;

  /** Parses the arguments; IllegalArgumentException says what is wrong with them. */
  static DfgetOptions parse(String... args) {
    DfgetOptions options = new DfgetOptions();
    Cursor cursor = new Cursor(args);
    boolean optionsEnded = false;
    while (cursor.hasNext()) {
      String arg = cursor.next();
      if (optionsEnded || !arg.startsWith("-") || arg.equals("-")) {
        options.positional(arg);
        continue;
      }
      if (arg.equals("--")) {
        optionsEnded = true;
        continue;
      }
      int eq = arg.indexOf('=');
      String name = eq > 0 ? arg.substring(0, eq) : arg;
      String inline = eq > 0 ? arg.substring(eq + 1) : null;
      switch (name) {
        case "-O", "--output" -> options.output = cursor.value(name, inline);
        case "--daemon" -> options.daemon = cursor.value(name, inline);
        case "--digest" -> options.digest = cursor.value(name, inline);
        case "-H", "--header" -> options.headers.add(cursor.value(name, inline));
        case "--tag" -> options.tag = cursor.value(name, inline);
        case "--application" -> options.application = cursor.value(name, inline);
        case "--filtered-query-params" -> options.filteredQueryParams = cursor.value(name, inline);
        case "--limit" -> options.limit = cursor.value(name, inline);
        case "--range" -> options.range = cursor.value(name, inline);
        case "--timeout" -> options.timeoutSeconds = seconds(cursor.value(name, inline));
        case "--priority" -> options.priority = cursor.value(name, inline);
        case "--disable-back-to-source" -> options.disableBackToSource = flag(name, inline);
        case "-r", "--recursive" -> options.recursive = flag(name, inline);
        case "--no-progress" -> options.noProgress = flag(name, inline);
        case "-v", "--verbose" -> options.verbose = flag(name, inline);
        case "-h", "--help" -> options.help = flag(name, inline);
        default -> throw new IllegalArgumentException("unknown option '" + name + "'");
      }
    }
    if (!options.help) {
      if (options.url == null) {
        throw new IllegalArgumentException("missing the URL to download");
      }
      if (options.output == null) {
        throw new IllegalArgumentException("missing -O/--output FILE ('-' for stdout)");
      }
    }
    return options;
  }

  private void positional(String arg) {
    if (url != null) {
      throw new IllegalArgumentException("unexpected argument '" + arg + "' after the URL");
    }
    url = arg;
  }

  private static boolean flag(String name, String inline) {
    if (inline != null) {
      throw new IllegalArgumentException("option '" + name + "' takes no value");
    }
    return true;
  }

  private static Long seconds(String value) {
    try {
      long seconds = Long.parseLong(value);
      if (seconds <= 0) {
        throw new NumberFormatException();
      }
      return seconds;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--timeout takes a positive number of seconds, not '" + value + "'");
    }
  }

  private static final class Cursor {
    private final String[] args;
    private int next;

    Cursor(String[] args) {
      this.args = args;
    }

    boolean hasNext() {
      return next < args.length;
    }

    String next() {
      return args[next++];
    }

    /** The option's value: after '=' or the next argument. */
    String value(String name, String inline) {
      if (inline != null) {
        return inline;
      }
      if (!hasNext()) {
        throw new IllegalArgumentException("option '" + name + "' needs a value");
      }
      return next();
    }
  }
}
