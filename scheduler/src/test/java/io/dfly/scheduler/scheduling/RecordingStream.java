package io.dfly.scheduler.scheduling;

import io.dfly.api.scheduler.v1.AnnouncePeerResponse;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;

/** The scheduler's side of a peer stream, recorded. */
final class RecordingStream implements StreamObserver<AnnouncePeerResponse> {
  final List<AnnouncePeerResponse> sent = new ArrayList<>();
  boolean completed;

  @Override
  public void onNext(AnnouncePeerResponse value) {
    sent.add(value);
  }

  @Override
  public void onError(Throwable t) {
    completed = true;
  }

  @Override
  public void onCompleted() {
    completed = true;
  }

  AnnouncePeerResponse last() {
    return sent.get(sent.size() - 1);
  }

  List<String> lastParents() {
    return last().getNormalTask().getCandidateParentsList().stream().map(p -> p.getPeerId()).toList();
  }
}
