package io.dfly.common.auth;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * The secret every scheduler and dfdaemon of a cluster shares. Calls between them (gRPC) and
 * piece reads (HTTP) carry it as {@code Authorization: Bearer <token>}; a part that listens
 * anywhere but loopback refuses to start without one, so nothing reachable is open.
 */
public final class ClusterToken {
  public static final String HTTP_HEADER = "Authorization";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final ClusterToken NONE = new ClusterToken("");

  private final String token;
  private final byte[] expected;

  private ClusterToken(String token) {
    this.token = token;
    this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
  }

  /** The token given inline, or read from {@code tokenFile} (trimmed); none when both are empty. */
  public static ClusterToken of(String token, String tokenFile) {
    if (token != null && !token.isBlank()) {
      return new ClusterToken(token.trim());
    }
    if (tokenFile != null && !tokenFile.isBlank()) {
      try {
        String read = Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).trim();
        if (read.isEmpty()) {
          throw new IllegalArgumentException("cluster token file " + tokenFile + " is empty");
        }
        return new ClusterToken(read);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the cluster token file " + tokenFile, e);
      }
    }
    return NONE;
  }

  public boolean isSet() {
    return !token.isEmpty();
  }

  /**
   * Refuses to serve {@code what} on a non-loopback address without a token: such a service is
   * reachable from other machines.
   */
  public static void requireFor(String listenHost, ClusterToken token, String what) {
    if (token.isSet()) {
      return;
    }
    boolean loopback;
    try {
      loopback = InetAddress.getByName(listenHost).isLoopbackAddress();
    } catch (UnknownHostException e) {
      loopback = false;
    }
    if (!loopback) {
      throw new IllegalArgumentException(what + " listens on " + listenHost + ", which other machines reach: "
          + "give the cluster's shared secret with cluster-token-file (or cluster-token) in its config");
    }
  }

  /** The value of the {@code Authorization} header to send; null when no token is set. */
  public String headerValue() {
    return isSet() ? "Bearer " + token : null;
  }

  /** True when no token is set or {@code authorization} carries it (compared in constant time). */
  public boolean accepts(String authorization) {
    if (!isSet()) {
      return true;
    }
    return authorization != null
        && MessageDigest.isEqual(expected, authorization.getBytes(StandardCharsets.UTF_8));
  }

  /** Refuses gRPC calls that do not carry the token; lets everything through when none is set. */
  public ServerInterceptor serverInterceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        if (!accepts(headers.get(AUTHORIZATION))) {
          call.close(Status.UNAUTHENTICATED.withDescription("missing or wrong cluster token"), new Metadata());
          return new ServerCall.Listener<>() { };
        }
        return next.startCall(call, headers);
      }
    };
  }

  /** Adds the token to every outgoing gRPC call; adds nothing when none is set. */
  public ClientInterceptor clientInterceptor() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            if (isSet()) {
              headers.put(AUTHORIZATION, headerValue());
            }
            super.start(listener, headers);
          }
        };
      }
    };
  }
}
