package io.dfly.daemon.local;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wire contract of the daemon's local API, which dfget, dfcache and {@code dfdaemon limits}
 * speak to the dfdaemon of their own host over loopback HTTP/1.1.
 *
 * <p>A request is a {@code POST} of an {@code application/x-www-form-urlencoded} body to one of
 * the paths below. The answer is {@code 200} and a body of frames up to the connection's close:
 * one type byte, a 4-byte big-endian payload length, the payload. {@link #PROGRESS} and
 * {@link #DATA} frames come while a download runs; the last frame is {@link #RESULT} (form
 * fields) or {@link #ERROR} (form fields {@code kind} and {@code message}).
 *
 * <p>Why not gRPC, as between peers: dfget is a short-lived process, and loading gRPC, Netty and
 * protobuf took most of a cached download's wall-clock time. This contract needs only
 * {@code java.base} on the client side (see {@link LocalApiClient}).
 */
public final class LocalApi {
  /** Fields: url, output (absolute path; absent: the content comes back in DATA frames), tag,
   *  application, filtered-query-params ('a&b'), header ('Name: value', repeated), digest,
   *  priority (low, normal, high), rate-limit (bytes/s), range ('first-last'),
   *  disable-back-to-source (true). Result: task-id, content-length, cache-hit, from-origin,
   *  from-seed-peers, from-peers. */
  public static final String DOWNLOAD = "/v1/download";
  /** Field: task-id. Result: task-id, state, content-length, piece-count, finished-pieces, from-*. */
  public static final String STAT = "/v1/stat";
  /** Fields: cid, path (absolute). Result: as {@link #STAT}. */
  public static final String IMPORT = "/v1/import";
  /** Field: task-id. Result: task-id. */
  public static final String DELETE = "/v1/delete";
  /** Fields (bytes/s, 0 = unlimited, absent = unchanged): download-rate, upload-rate, and task-id
   *  with task-rate. Result: download-rate, upload-rate, max-concurrent-uploads. */
  public static final String LIMITS = "/v1/limits";

  public static final byte PROGRESS = 'P'; // completed length, content length (-1: unknown): two longs
  public static final byte DATA = 'D';     // content bytes, in order
  public static final byte RESULT = 'R';   // form fields
  public static final byte ERROR = 'E';    // form fields kind, message

  /** Most bytes one frame carries. */
  public static final int MAX_FRAME = 16 << 20;

  /** What went wrong, in terms a caller maps to its exit code. */
  public enum ErrorKind {
    /** The request is malformed or cannot be served as asked. */
    BAD_REQUEST,
    /** The task failed: origin error, no peer could serve. */
    FAILED,
    /** The content is not what was expected (digest or length). */
    BAD_CONTENT,
    /** The daemon's disk is full or over its quota. */
    NO_SPACE,
    /** The output path cannot be written. */
    CANNOT_WRITE,
    /** No such task here. */
    NOT_FOUND,
    /** The task is busy (downloading) and cannot be changed now. */
    BUSY;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static ErrorKind ofWireName(String name) {
      for (ErrorKind kind : values()) {
        if (kind.wireName().equals(name)) {
          return kind;
        }
      }
      return FAILED;
    }
  }

  private LocalApi() {}

  /** Form encoding ({@code a=1&b=2}); keys may repeat. */
  public static String encode(Map<String, List<String>> fields) {
    StringBuilder form = new StringBuilder();
    fields.forEach((key, values) -> {
      for (String value : values) {
        if (!form.isEmpty()) {
          form.append('&');
        }
        form.append(URLEncoder.encode(key, StandardCharsets.UTF_8)).append('=')
            .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
      }
    });
    return form.toString();
  }

  public static Map<String, List<String>> decode(String form) {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    if (form.isEmpty()) {
      return fields;
    }
    for (String pair : form.split("&")) {
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      fields.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }
    return fields;
  }

  /** Builds a form with single-valued fields, in order. */
  public static final class Form {
    private final Map<String, List<String>> fields = new LinkedHashMap<>();

    public Form add(String key, Object value) {
      if (value != null) {
        fields.computeIfAbsent(key, k -> new ArrayList<>()).add(String.valueOf(value));
      }
      return this;
    }

    public Map<String, List<String>> fields() {
      return fields;
    }

    @Override
    public String toString() {
      return encode(fields);
    }
  }
}
