package io.dfly.scheduler.resource;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import io.dfly.scheduler.scheduling.NoStream;
import org.junit.jupiter.api.Test;

class TaskTest {
  private final Hosts hosts = new Hosts(1_000_000_000L);
  private final Task task = new Task("t");

  private Peer peer(String id, int... pieces) {
    KnownHost host = hosts.announce(Host.newBuilder().setId("host-" + id).setIp("10.0.0.1").build(), null, 0).host();
    Peer peer = new Peer(id, host, new NoStream(), 0);
    task.addPeer(peer);
    for (int piece : pieces) {
      task.addPiece(peer, piece);
    }
    return peer;
  }

  @Test
  void rarityFollowsPeersAsTheyComeGoAndRegisterAgain() {
    Peer a = peer("a", 0, 1, 200);
    peer("b", 0);
    assertThat(task.rarity()[0]).isEqualTo(0.5);
    assertThat(task.rarity()[1]).isEqualTo(1);
    assertThat(task.rarity()[200]).isEqualTo(1);
    assertThat(task.addPiece(a, 1)).as("a piece counts once per peer").isFalse();
    assertThat(task.rarity()[1]).isEqualTo(1);

    Peer again = peer("a", 1); // the same peer id on a new stream replaces the old one
    assertThat(task.rarity()[0]).isEqualTo(1);
    assertThat(task.rarity()[1]).isEqualTo(1);
    assertThat(task.rarity()[200]).isZero();

    task.removePeer(again);
    assertThat(task.rarity()[1]).isZero();
    assertThat(task.peerCount()).isEqualTo(1);
  }

  @Test
  void peersAreFoundByPositionAfterRemovalsAndSeedPeersAreKeptApart() {
    Peer a = peer("a");
    peer("b");
    Peer c = peer("c");
    KnownHost seedHost = hosts.announce(Host.newBuilder().setId("seed").setIp("10.0.0.9")
        .setType(io.dfly.api.common.v1.HostType.HOST_TYPE_SEED).build(), null, 0).host();
    Peer seed = new Peer("s", seedHost, new NoStream(), 0);
    task.addPeer(seed);
    task.removePeer(a);
    assertThat(task.peerCount()).isEqualTo(3);
    assertThat(java.util.stream.IntStream.range(0, 3).mapToObj(task::peerAt).map(Peer::id))
        .containsExactlyInAnyOrder("b", "c", "s");
    assertThat(task.seedPeers()).containsExactly(seed);
    task.removePeer(seed);
    task.removePeer(c);
    assertThat(task.seedPeers()).isEmpty();
    assertThat(task.peerAt(0).id()).isEqualTo("b");
  }
}
