package io.dfly.scheduler.scheduling;

import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.grpc.stub.StreamObserver;

/** A peer stream that drops what the scheduler sends, for tests and benchmarks that do not look. */
public final class NoStream implements StreamObserver<AnnouncePeerResponse> {
  @Override
  public void onNext(AnnouncePeerResponse value) {}

  @Override
  public void onError(Throwable t) {}

  @Override
  public void onCompleted() {}
}
