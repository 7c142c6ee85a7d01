package io.dfly.scheduler.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostLoad;
import io.dfly.api.common.v1.HostType;
import io.dfly.scheduler.SchedulerConfig;
import io.dfly.scheduler.resource.Hosts;
import io.dfly.scheduler.resource.KnownHost;
import io.dfly.scheduler.resource.Peer;
import io.dfly.scheduler.resource.PeerState;
import io.dfly.scheduler.resource.Task;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The evaluator alone, on tasks built by hand: which candidates pass, and how they rank. */
class ParentEvaluatorTest {
  private static final long NOW = TimeUnit.HOURS.toNanos(1);

  private final SchedulerConfig config = new SchedulerConfig();
  private final Hosts hosts = new Hosts(TimeUnit.MINUTES.toNanos(10));
  private final Task task = new Task("t");
  private ParentEvaluator evaluator = new ParentEvaluator(config);

  private KnownHost host(Host.Builder host) {
    return hosts.announce(host.setIp("10.0.0.1").setUploadLimit(10).build(), null, NOW).host();
  }

  private Peer peer(String id, KnownHost host, PeerState state, int... pieces) {
    Peer peer = new Peer(id, host, new RecordingStream(), NOW);
    peer.setState(state);
    task.addPeer(peer);
    for (int n : pieces) {
      task.addPiece(peer, n);
    }
    return peer;
  }

  private Peer peer(String id, PeerState state, int... pieces) {
    return peer(id, host(Host.newBuilder().setId("host-" + id)), state, pieces);
  }

  private List<String> select(Peer child) {
    return evaluator.select(task, child, NOW).stream().map(Peer::id).toList();
  }

  @Test
  void onlyPeersThatCanServeTheChildAreCandidates() {
    KnownHost childHost = host(Host.newBuilder().setId("child-host"));
    Peer child = peer("child", childHost, PeerState.PENDING);
    peer("same-host", childHost, PeerState.SUCCEEDED, 0, 1, 2);
    peer("waiting", PeerState.PENDING);
    peer("failed", PeerState.FAILED, 0, 1);
    peer("blocked", PeerState.SUCCEEDED, 0, 1, 2);
    task.block("blocked", "corrupt piece");
    Peer busy = peer("busy", PeerState.SUCCEEDED, 0, 1, 2);
    hosts.announce(busy.host().host(), HostLoad.newBuilder().setUploadSlotsInUse(10).build(), NOW);
    Peer penalised = peer("penalised", PeerState.SUCCEEDED, 0, 1, 2);
    for (int i = 0; i < 3; i++) {
      penalised.host().penalise(NOW);
    }
    peer("good", PeerState.SUCCEEDED, 0, 1, 2);

    assertThat(select(child)).containsExactly("good");
  }

  @Test
  void aPeerHoldingThePiecesOnlyItHasBeatsOnesHoldingMoreCommonPieces() {
    // The seed peer handed each of three peers different pieces; a fourth has what everyone has.
    Peer child = peer("child", PeerState.RUNNING, 0);
    peer("common", PeerState.RUNNING, 0, 1, 2, 3, 4, 5);
    peer("common-too", PeerState.RUNNING, 1, 2, 3, 4, 5);
    peer("unique", PeerState.RUNNING, 10, 11, 12);
    evaluator = new ParentEvaluator(limit(1));
    assertThat(select(child)).containsExactly("unique");
  }

  @Test
  void aDescendantServesOnlyPiecesTheChildLacks() {
    Peer seed = peer("seed", host(Host.newBuilder().setId("seed-host").setType(HostType.HOST_TYPE_SEED)),
        PeerState.BACK_TO_SOURCE, 0, 1, 2, 3);
    Peer child = peer("child", PeerState.RUNNING, 0, 1);
    Peer grandchild = peer("grandchild", PeerState.RUNNING, 0);
    child.setParents(List.of(seed));
    grandchild.setParents(List.of(child, seed));

    // The grandchild is fetching, but everything it has came from (or with) the child.
    assertThat(select(child)).containsExactly("seed");
    // It fetched piece 2 from the seed: the child may take that from it.
    grandchild.pieces().add(2);
    assertThat(select(child)).containsExactlyInAnyOrder("seed", "grandchild");
  }

  @Test
  void aFetchingPeerThatIsNoDescendantIsACandidateBeforeItHasAnyPiece() {
    Peer child = peer("child", PeerState.PENDING);
    peer("origin-fetcher", PeerState.BACK_TO_SOURCE);
    assertThat(select(child)).containsExactly("origin-fetcher");
  }

  @Test
  void parentsThatAreOnlyFetchingAreDroppedWhenNothingBesideThemMovesTheChildOn() {
    Peer a = peer("a", PeerState.RUNNING);
    Peer b = peer("b", PeerState.RUNNING);
    // Each has the other as its only parent and neither has a piece: they would wait forever.
    a.setParents(List.of(b));
    b.setParents(List.of(a));
    assertThat(select(a)).isEmpty();
  }

  @Test
  void moreAndRarerUsefulPiecesRankHigherThenTheBestFewAreKept() {
    Peer child = peer("child", PeerState.RUNNING, 0, 1);
    peer("has-nothing-new", PeerState.RUNNING, 0, 1);
    peer("two-common", PeerState.RUNNING, 0, 1, 2, 3);
    peer("six-new", PeerState.RUNNING, 2, 3, 4, 5, 6, 7);
    peer("four-new", PeerState.RUNNING, 2, 3, 4, 5);
    peer("two-common-again", PeerState.RUNNING, 2, 3);
    // Pieces 2 and 3 are held by four peers, 4 and 5 by two, 6, 7 and 9 by one each.
    peer("one-rare", PeerState.RUNNING, 9);
    assertThat(select(child)).containsExactly("six-new", "four-new", "one-rare", "two-common");
  }

  @Test
  void sameIdcAndNearerLocationWinAmongEqualPeers() {
    KnownHost childHost = host(Host.newBuilder().setId("child-host").setIdc("dc1").setLocation("cn|east|a"));
    Peer child = peer("child", childHost, PeerState.PENDING);
    peer("far", host(Host.newBuilder().setId("far").setIdc("dc9").setLocation("us|west|a")), PeerState.SUCCEEDED, 0);
    peer("region", host(Host.newBuilder().setId("region").setIdc("dc2").setLocation("cn|east|b")), PeerState.SUCCEEDED, 0);
    peer("zone", host(Host.newBuilder().setId("zone").setIdc("dc3").setLocation("cn|east|a")), PeerState.SUCCEEDED, 0);
    peer("idc", host(Host.newBuilder().setId("idc").setIdc("dc1").setLocation("cn|west|a")), PeerState.SUCCEEDED, 0);
    evaluator = new ParentEvaluator(limit(3));
    assertThat(select(child)).containsExactly("idc", "zone", "region");
  }

  @Test
  void locationAffinityCountsMatchingLeadingElements() {
    assertThat(affinity("cn|east|a", "cn|east|a")).isEqualTo(1);
    assertThat(affinity("cn|east|a", "cn|east|b")).isEqualTo(2 / 3.0);
    assertThat(affinity("cn|east", "cn|east|b")).isEqualTo(2 / 3.0);
    assertThat(affinity("cn|east|a", "us|east|a")).isZero();
    assertThat(affinity("cnx|east", "cn|east")).isZero();
    assertThat(affinity("", "cn")).isZero();
  }

  @Test
  void aFetchingSeedPeerIsPreferredAndAFinishedOneSpared() {
    Peer child = peer("child", PeerState.PENDING);
    peer("seed-fetching", host(Host.newBuilder().setId("s1").setType(HostType.HOST_TYPE_SEED)),
        PeerState.BACK_TO_SOURCE, 0, 1);
    peer("normal", PeerState.RUNNING, 0, 1);
    peer("seed-done", host(Host.newBuilder().setId("s2").setType(HostType.HOST_TYPE_SEED)),
        PeerState.SUCCEEDED, 0, 1);
    evaluator = new ParentEvaluator(limit(3));
    assertThat(select(child)).containsExactly("seed-fetching", "normal", "seed-done");
  }

  @Test
  void hostsThatFailUploadsOrHaveFewFreeSlotsRankLower() {
    Peer child = peer("child", PeerState.PENDING);
    Peer failing = peer("failing", PeerState.SUCCEEDED, 0);
    for (int i = 0; i < 4; i++) {
      failing.host().countUpload(false);
    }
    Peer busy = peer("busy", PeerState.SUCCEEDED, 0);
    hosts.announce(busy.host().host(), HostLoad.newBuilder().setUploadSlotsInUse(6).build(), NOW);
    peer("fine", PeerState.SUCCEEDED, 0);
    evaluator = new ParentEvaluator(limit(3));
    assertThat(select(child)).containsExactly("fine", "busy", "failing");
  }

  @Test
  void aHostUsingMostOfItsUploadBandwidthRanksBelowAnIdleOne() {
    Peer child = peer("child", PeerState.PENDING);
    Peer saturated = peer("saturated", PeerState.SUCCEEDED, 0);
    hosts.announce(saturated.host().host(), HostLoad.newBuilder().setUploadSlotsInUse(1)
        .setUploadBytesPerSecond(95 << 20).setUploadRateLimit(100 << 20).build(), NOW);
    Peer idle = peer("idle", PeerState.SUCCEEDED, 0);
    hosts.announce(idle.host().host(), HostLoad.newBuilder().setUploadSlotsInUse(1)
        .setUploadBytesPerSecond(5 << 20).setUploadRateLimit(100 << 20).build(), NOW);
    assertThat(saturated.host().freeUploadShare()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(select(child)).containsExactly("idle", "saturated");
  }

  @Test
  void hostsBusyWithOtherWorkRankLowerButStillServeWhatNobodyElseHas() {
    // CI runners that also serve layers: one is compiling (CPU pegged), one is short of memory,
    // one is half busy, one is idle, one never sent its load (an older dfdaemon: taken as idle).
    Peer child = peer("child", PeerState.PENDING);
    peer("compiling", PeerState.SUCCEEDED, 0, 1, 2, 3);
    announceLoad("compiling", 0.97, 0.40);
    peer("swapping", PeerState.SUCCEEDED, 0, 1, 2, 3);
    announceLoad("swapping", 0.20, 0.96);
    peer("half-busy", PeerState.SUCCEEDED, 0, 1, 2, 3);
    announceLoad("half-busy", 0.60, 0.70);
    peer("idle", PeerState.SUCCEEDED, 0, 1, 2, 3);
    announceLoad("idle", 0.05, 0.20);
    peer("no-load", PeerState.SUCCEEDED, 0, 1, 2, 3);
    evaluator = new ParentEvaluator(limit(5));
    assertThat(select(child)).as("by free CPU plus free memory, all else equal")
        .containsExactly("no-load", "idle", "swapping", "half-busy", "compiling");

    // A machine pegged by other work (every host of a loaded test box reports the same full CPU)
    // still serves the piece only it has: slow pieces beat sending the child to the origin.
    Peer other = peer("other-child", PeerState.PENDING, 0, 1, 2, 3);
    peer("pegged", PeerState.BACK_TO_SOURCE, 7);
    announceLoad("pegged", 1.0, 1.0);
    assertThat(select(other)).containsExactly("pegged");

    config.evaluator.cpu = 0;
    config.evaluator.memory = 0;
    evaluator = new ParentEvaluator(config);
    assertThat(select(child)).as("with load not weighed, all five tie").hasSize(5);
  }

  @Test
  void aParentWhosePiecesCostItsChildrenMoreThanTheirOtherParentsRanksLower() {
    // Its children paid it 2.5x what they pay their other parents per byte (what the cost judge
    // records): not slow enough to block, but a newcomer should start elsewhere.
    Peer child = peer("child", PeerState.PENDING);
    Peer sluggish = peer("sluggish", PeerState.SUCCEEDED, 0, 1, 2, 3);
    for (int i = 0; i < 16; i++) {
      sluggish.servedRelativeCosts().add(2.5);
    }
    Peer steady = peer("steady", PeerState.SUCCEEDED, 0, 1, 2, 3);
    for (int i = 0; i < 16; i++) {
      steady.servedRelativeCosts().add(1.0);
    }
    peer("untried", PeerState.SUCCEEDED, 0, 1, 2, 3);
    evaluator = new ParentEvaluator(limit(3));
    assertThat(select(child)).as("an untried parent gets the benefit of the doubt")
        .containsExactly("steady", "untried", "sluggish");
  }

  @Test
  void theWeightsAreTheOperatorsToSet() {
    // A cluster that pays for traffic between IDCs weighs the IDC over pieces held.
    KnownHost childHost = host(Host.newBuilder().setId("child-host").setIdc("dc1"));
    Peer child = peer("child", childHost, PeerState.PENDING);
    peer("near", host(Host.newBuilder().setId("near").setIdc("dc1")), PeerState.RUNNING, 0, 1, 2, 3);
    peer("far", host(Host.newBuilder().setId("far").setIdc("dc2")), PeerState.RUNNING, 0, 1, 2, 3, 4, 5, 6, 7);
    evaluator = new ParentEvaluator(limit(1));
    assertThat(select(child)).as("default weights: more pieces win").containsExactly("far");

    config.evaluator.idc = 1;
    evaluator = new ParentEvaluator(config);
    assertThat(select(child)).containsExactly("near");
  }

  private void announceLoad(String peerId, double cpu, double memory) {
    KnownHost host = task.peer(peerId).host();
    hosts.announce(host.host(), HostLoad.newBuilder().setCpuUsage(cpu).setMemoryUsage(memory).build(), NOW);
  }

  @Test
  void newChildrenSpreadOverEqualParentsInsteadOfAllPickingTheSameOnes() {
    Peer busy = peer("busy", PeerState.RUNNING, 0, 1, 2, 3);
    peer("idle", PeerState.RUNNING, 0, 1, 2, 3);
    for (int i = 0; i < 3; i++) {
      peer("child-" + i, PeerState.RUNNING).setParents(List.of(busy));
    }
    Peer newcomer = peer("newcomer", PeerState.PENDING);
    evaluator = new ParentEvaluator(limit(1));
    assertThat(select(newcomer)).containsExactly("idle");
    // A current child of the busy parent is not put off by itself.
    assertThat(evaluator.select(task, task.peer("child-0"), NOW).stream().map(Peer::id)).containsExactly("busy");
  }

  @Test
  void aCurrentParentKeepsItsPlaceUnlessANewcomerIsClearlyBetter() {
    Peer child = peer("child", PeerState.RUNNING);
    Peer current = peer("current", PeerState.RUNNING, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    child.setParents(List.of(current));
    peer("slightly-better", PeerState.RUNNING, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    evaluator = new ParentEvaluator(limit(1));
    assertThat(select(child)).containsExactly("current");

    peer("much-better", host(Host.newBuilder().setId("mb").setType(HostType.HOST_TYPE_SEED)),
        PeerState.BACK_TO_SOURCE, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    current.host().penalise(NOW);
    assertThat(select(child)).containsExactly("much-better");
  }

  @Test
  void inALargeSwarmOnlyASampleIsLookedAtButSeedPeersAndCurrentParentsAlways() {
    Peer seed = peer("seed", host(Host.newBuilder().setId("seed-host").setType(HostType.HOST_TYPE_SEED)),
        PeerState.BACK_TO_SOURCE, 0);
    Peer child = peer("child", PeerState.RUNNING);
    Peer current = peer("current", PeerState.RUNNING, 1);
    child.setParents(List.of(current));
    for (int i = 0; i < 2000; i++) {
      peer("waiting-" + i, PeerState.PENDING); // cannot serve
    }
    for (int attempt = 0; attempt < 20; attempt++) {
      assertThat(select(child)).containsExactlyInAnyOrder("seed", "current");
    }
    assertThat(seed.children()).isEmpty(); // select() decides, it does not change the graph
  }

  private static double affinity(String child, String parent) {
    return ParentEvaluator.locationAffinity(KnownHost.locationElements(child), KnownHost.locationElements(parent));
  }

  private SchedulerConfig limit(int parents) {
    config.candidateParentLimit = parents;
    return config;
  }
}
