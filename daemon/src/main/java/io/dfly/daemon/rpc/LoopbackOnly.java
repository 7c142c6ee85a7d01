package io.dfly.daemon.rpc;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Refuses calls that do not come from this machine: the download service writes files where
 * its caller says, so only local dfget and dfcache may use it, whatever address the daemon
 * listens on.
 */
public final class LoopbackOnly implements ServerInterceptor {
  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null
        && inet.getAddress().isLoopbackAddress()) {
      return next.startCall(call, headers);
    }
    call.close(Status.PERMISSION_DENIED.withDescription("only local clients may download through this daemon"),
        new Metadata());
    return new ServerCall.Listener<>() { };
  }
}
