package io.dfly.scheduler.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.PeerState;
import io.dfly.scheduler.resource.Task;
import org.junit.jupiter.api.Test;

class ParentSelectorTest {
  private final Task task = new Task("t");
  private final ParentSelector selector = new ParentSelector(4);

  private Peer peer(String id, String hostId, PeerState state, int pieces) {
    return peer(id, hostId, state, pieces, HostType.HOST_TYPE_NORMAL);
  }

  private Peer peer(String id, String hostId, PeerState state, int pieces, HostType type) {
    Peer peer = new Peer(id, Host.newBuilder().setId(hostId).setIp("10.0.0.1").setType(type).build(),
        new RecordingStream());
    peer.setState(state);
    for (int n = 0; n < pieces; n++) {
      peer.finishPiece(n);
    }
    task.addPeer(peer);
    return peer;
  }

  @Test
  void neverItselfNorAPeerOnItsOwnHost() {
    Peer child = peer("c", "h1", PeerState.PENDING, 0);
    peer("same-host", "h1", PeerState.SUCCEEDED, 10);
    peer("other", "h2", PeerState.RUNNING, 1);
    assertThat(selector.select(task, child)).containsExactly("other");
  }

  @Test
  void onlyPeersThatHaveOrFetchTheContent() {
    Peer child = peer("c", "h1", PeerState.PENDING, 0);
    peer("pending", "h2", PeerState.PENDING, 0);
    peer("failed", "h3", PeerState.FAILED, 5);
    peer("left", "h4", PeerState.LEFT, 5);
    peer("source", "h5", PeerState.BACK_TO_SOURCE, 0);
    peer("done", "h6", PeerState.SUCCEEDED, 8);
    assertThat(selector.select(task, child)).containsExactlyInAnyOrder("source", "done");
  }

  @Test
  void noCyclesEvenThroughOtherPeers() {
    Peer a = peer("a", "h1", PeerState.RUNNING, 3);
    Peer b = peer("b", "h2", PeerState.RUNNING, 2);
    Peer c = peer("c", "h3", PeerState.RUNNING, 1);
    peer("seed", "hs", PeerState.BACK_TO_SOURCE, 5, HostType.HOST_TYPE_SEED);
    b.parents().add("a");
    c.parents().add("b");
    // a may not download from b (b downloads from a) nor from c (c -> b -> a)
    assertThat(selector.select(task, a)).containsExactly("seed");
    assertThat(selector.select(task, c)).contains("a", "b", "seed");
  }

  @Test
  void blockedParentsAreNotOfferedAgain() {
    Peer child = peer("c", "h1", PeerState.RUNNING, 0);
    peer("bad", "h2", PeerState.SUCCEEDED, 10);
    peer("good", "h3", PeerState.RUNNING, 1);
    child.parents().add("bad");
    child.block("bad");
    assertThat(selector.select(task, child)).containsExactly("good");
  }

  @Test
  void ranksFinishedThenMorePiecesThenSeedsAndKeepsTheLimit() {
    Peer child = peer("c", "h0", PeerState.PENDING, 0);
    peer("few", "h1", PeerState.RUNNING, 1);
    peer("many", "h2", PeerState.RUNNING, 9);
    peer("done", "h3", PeerState.SUCCEEDED, 4);
    peer("seed", "h4", PeerState.BACK_TO_SOURCE, 1, HostType.HOST_TYPE_SEED);
    peer("none", "h5", PeerState.RUNNING, 0);
    peer("some", "h6", PeerState.RUNNING, 3);
    assertThat(selector.select(task, child)).containsExactly("done", "many", "some", "seed");
  }

  @Test
  void currentParentsKeepTheirPlaceWhileValid() {
    Peer child = peer("c", "h0", PeerState.RUNNING, 0);
    peer("old", "h1", PeerState.RUNNING, 0);
    peer("better", "h2", PeerState.SUCCEEDED, 9);
    child.parents().add("old");
    assertThat(selector.select(task, child)).containsExactly("old", "better");
  }
}
