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

  AnnouncePeerResponse.ResponseCase lastCase() {
    return sent.isEmpty() ? null : last().getResponseCase();
  }

  /** The parents of the last parent list sent (the current ones, as the peer sees them). */
  List<String> lastParents() {
    for (int i = sent.size() - 1; i >= 0; i--) {
      if (sent.get(i).hasNormalTask()) {
        return sent.get(i).getNormalTask().getCandidateParentsList().stream().map(p -> p.getPeerId()).toList();
      }
    }
    return List.of();
  }
}
