package io.dfly.daemon.rpc;

import io.dfly.api.scheduler.v1.AnnounceHostRequest;
import io.dfly.api.scheduler.v1.AnnounceHostResponse;
import io.dfly.api.scheduler.v1.AnnouncePeerRequest;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.dfly.api.scheduler.v1.SchedulerGrpc;
import io.dfly.common.net.HostPort;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for a scheduler (a test double: the real one is in the scheduler module) on a real
 * gRPC server. It takes host announcements, records every peer-stream request, and answers on
 * peer streams only what the test tells it to, so a test decides exactly which parents a peer gets.
 */
public final class StandInScheduler implements AutoCloseable {
  private final Server server;
  private final Set<String> knownHosts = ConcurrentHashMap.newKeySet();
  private final List<StreamObserver<AnnouncePeerResponse>> peerStreams = new CopyOnWriteArrayList<>();

  /** Listens on 127.0.0.1:{@code port} (0: any free one); every peer-stream request goes to {@code received}. */
  public StandInScheduler(int port, BlockingQueue<AnnouncePeerRequest> received) throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(new SchedulerGrpc.SchedulerImplBase() {
          @Override
          public void announceHost(AnnounceHostRequest request, StreamObserver<AnnounceHostResponse> responses) {
            boolean newHost = knownHosts.add(request.getHost().getId());
            responses.onNext(AnnounceHostResponse.newBuilder().setNewHost(newHost).build());
            responses.onCompleted();
          }

          @Override
          public StreamObserver<AnnouncePeerRequest> announcePeer(StreamObserver<AnnouncePeerResponse> responses) {
            peerStreams.add(responses);
            return new StreamObserver<>() {
              @Override
              public void onNext(AnnouncePeerRequest request) {
                received.add(request);
              }

              @Override
              public void onError(Throwable t) {
                peerStreams.remove(responses);
              }

              @Override
              public void onCompleted() {
                peerStreams.remove(responses);
                synchronized (responses) {
                  responses.onCompleted();
                }
              }
            };
          }
        })
        .build()
        .start();
  }

  public HostPort address() {
    return new HostPort("127.0.0.1", server.getPort());
  }

  /** Sends {@code response} on every peer stream still open. */
  public void answer(AnnouncePeerResponse response) {
    for (StreamObserver<AnnouncePeerResponse> stream : peerStreams) {
      synchronized (stream) {
        stream.onNext(response);
      }
    }
  }

  /** Stops at once, the way a killed scheduler goes. */
  public void kill() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    server.shutdownNow();
  }
}
