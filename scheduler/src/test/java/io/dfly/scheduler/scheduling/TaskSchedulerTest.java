package io.dfly.scheduler.scheduling;

import static io.dfly.scheduler.scheduling.SchedulerFixture.TASK;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.Piece;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse.ResponseCase;
import io.dfly.api.scheduler.v1.PeerFinished;
import io.dfly.api.scheduler.v1.PieceFinished;
import io.dfly.api.scheduler.v1.RegisterPeer;
import io.dfly.scheduler.SchedulerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class TaskSchedulerTest {
  private final SchedulerFixture f = new SchedulerFixture();
  private final TaskScheduler scheduler = f.scheduler;

  // ---- sources: seed peers and back-to-source ----------------------------------------------

  @Test
  void withoutSeedPeersTheFirstPeerGoesToTheOriginAndLaterOnesFetchFromIt() {
    RecordingStream first = f.register("p1", f.host("h1"));
    assertThat(first.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    scheduler.backToSourceStarted(TASK, "p1");

    RecordingStream second = f.register("p2", f.host("h2"));
    assertThat(second.lastParents()).containsExactly("p1");
    assertThat(f.triggered).isEmpty();
    assertThat(f.counter("dfly.scheduler.back.to.source", "reason", "no_parent")).isEqualTo(1);
  }

  @Test
  void oneSeedTriggerForManyPeersAndTheFirstGetsTheSeedPeerInTheCallThatTriggersIt() {
    Host seedHost = f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    assertThat(f.triggered).containsExactly("seed/t");
    String s = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).as("the seed peer, before it registers").containsExactly(s);
    RecordingStream p2 = f.register("p2", f.host("h2"));
    RecordingStream p3 = f.register("p3", f.host("h3"));
    assertThat(f.triggered).containsExactly("seed/t");
    assertThat(p2.lastParents()).containsExactlyInAnyOrder(s, "p1");
    assertThat(p3.lastParents()).containsExactlyInAnyOrder(s, "p1", "p2");

    // It registers under the id the trigger carried: the peer offered already, nothing to resend.
    RecordingStream seed = f.register(s, seedHost);
    assertThat(seed.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    for (RecordingStream peer : List.of(p1, p2, p3)) {
      assertThat(peer.sent).as("one parent list each").hasSize(1);
    }
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).as("one seed peer and three peers").isEqualTo(4);
    assertThat(f.counter("dfly.scheduler.back.to.source", "reason", "seed")).isEqualTo(1);
    // p2 and p3 fetch through p1 and have nothing p1 lacks: p1 does not wait on them
    scheduler.tick();
    assertThat(p1.lastParents()).containsExactly(s);
    assertThat(p1.sent).hasSize(1);
  }

  @Test
  void aSeedPeerRegisteringUnderAnotherIdReplacesTheOneOfferedAndItsChildrenGetIt() {
    Host seedHost = f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    RecordingStream p2 = f.register("p2", f.host("h2"));
    String offered = f.lastTriggeredPeer();
    assertThat(p2.lastParents()).contains(offered);

    // The seed host had the task running already (under the id of a trigger from another scheduler, say).
    RecordingStream seed = f.register("s-own", seedHost);
    assertThat(seed.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p1.lastParents()).containsExactly("s-own");
    assertThat(p2.lastParents()).containsExactlyInAnyOrder("s-own", "p1");
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).as("one seed peer and two peers").isEqualTo(3);
    assertThat(f.triggered).as("its host is not taken for gone and asked again").containsExactly("seed/t");
    scheduler.pieceFinished(TASK, "p1", PieceFinished.newBuilder().setParentId(offered)
        .setPiece(Piece.newBuilder().setNumber(0).setLength(SchedulerFixture.PIECE)).build());
    assertThat(p1.lastParents()).containsExactly("s-own");
  }

  @Test
  void aSeedTriggerThatFailsTakesItsSeedPeerAwayFromThePeersThatGotIt() {
    CompletableFuture<Void> trigger = new CompletableFuture<>();
    f.triggerResult = trigger;
    f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    RecordingStream p2 = f.register("p2", f.host("h2"));
    String s = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).containsExactly(s);
    assertThat(p2.lastParents()).containsExactlyInAnyOrder(s, "p1");

    trigger.completeExceptionally(new RuntimeException("deadline exceeded"));
    assertThat(p1.sent).extracting(r -> r.getResponseCase()).as("told to stop using it, then sent to the origin")
        .containsExactly(ResponseCase.NORMAL_TASK, ResponseCase.NORMAL_TASK, ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p2.lastParents()).containsExactly("p1");
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).as("the seed peer is gone").isEqualTo(2);
  }

  @Test
  void peersThatFetchedDifferentPiecesServeEachOther() {
    Host seedHost = f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    RecordingStream p2 = f.register("p2", f.host("h2"));
    f.register("s", seedHost);
    assertThat(p2.lastParents()).containsExactlyInAnyOrder("s", "p1");

    // The seed peer gave each of them different pieces.
    f.pieces("s", "", 0, 7, 50);
    f.pieces("p1", "s", 0, 3, 100);
    f.pieces("p2", "s", 4, 7, 100);
    scheduler.tick();
    // p2 is p1's child, yet it holds pieces p1 lacks (they did not come through p1): both ways now
    assertThat(p1.lastParents()).containsExactlyInAnyOrder("s", "p2");
    assertThat(p2.lastParents()).containsExactlyInAnyOrder("s", "p1");
  }

  @Test
  void theSeedPeerOfATaskIsTheSameOnEverySchedulerAndTasksSpreadOverSeeds() {
    SchedulerFixture other = new SchedulerFixture();
    for (SchedulerFixture fixture : List.of(f, other)) {
      fixture.seedHost("seed-a");
      fixture.seedHost("seed-b");
      fixture.seedHost("seed-c");
      Host normal = fixture.host("h1");
      for (int i = 0; i < 30; i++) {
        fixture.register("task-" + i, "p" + i, normal);
      }
    }
    assertThat(other.triggered).isEqualTo(f.triggered).hasSize(30);
    assertThat(f.triggered.stream().map(t -> t.substring(0, t.indexOf('/'))).distinct())
        .containsExactlyInAnyOrder("seed-a", "seed-b", "seed-c");
  }

  @Test
  void aSeedHostThatStopsAnnouncingIsReplacedByTheNextOne() {
    Host a = f.seedHost("seed-a");
    Host b = f.seedHost("seed-b");
    Host h1 = f.host("h1");
    RecordingStream p1 = f.register("p1", h1);
    assertThat(f.triggered).hasSize(1);
    String first = f.triggered.getFirst();
    Host survivor = first.startsWith("seed-a/") ? b : a;

    // The triggered seed never registers and stops announcing; the others keep announcing.
    f.advanceSeconds(f.config.gc.hostTtlSeconds + 1);
    scheduler.announceHost(survivor, null);
    scheduler.announceHost(h1, null);
    scheduler.tick();

    assertThat(f.triggered).containsExactly(first, survivor.getId() + "/t");
    String s2 = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).as("the next seed peer at once").containsExactly(s2);
    RecordingStream seed = f.register(s2, survivor);
    assertThat(seed.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p1.lastParents()).containsExactly(s2);
  }

  @Test
  void aSeedPeerThatDiesMidFetchIsReplacedAndItsChildrenWaitForTheNextOne() {
    Host a = f.seedHost("seed-a");
    Host b = f.seedHost("seed-b");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    String first = f.triggered.getFirst();
    Host firstSeed = first.startsWith("seed-a/") ? a : b;
    Host nextSeed = firstSeed == a ? b : a;
    String s1 = f.lastTriggeredPeer();
    RecordingStream seed = f.register(s1, firstSeed);
    f.pieces(s1, "", 0, 3, 100);
    f.pieces("p1", s1, 0, 1, 100);
    assertThat(p1.lastParents()).containsExactly(s1);

    f.deadSeeds.add(firstSeed.getId());
    scheduler.streamEnded(TASK, s1, seed); // the seed peer's process died: asked again, it fails
    assertThat(f.triggered).containsExactly(first, first, nextSeed.getId() + "/t");
    String s2 = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).as("the next seed peer, not the origin").containsExactly(s2);
    assertThat(p1.sent).extracting(r -> r.getResponseCase()).doesNotContain(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).as("p1 and the next seed peer").isEqualTo(2);
    int answers = p1.sent.size();
    f.register(s2, nextSeed);
    assertThat(p1.sent).hasSize(answers);
  }

  @Test
  void aSeedPeerThatMovesToAnotherSchedulerIsAskedAgainAndItsChildrenWaitInsteadOfGoingToTheOrigin() {
    // A scheduler came back: the seed peer's download moves its stream there first; the peers
    // still here follow a moment later and must not be sent to the origin meanwhile.
    Host seedHost = f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    RecordingStream p2 = f.register("p2", f.host("h2"));
    String s1 = f.lastTriggeredPeer();
    RecordingStream seed = f.register(s1, seedHost);
    f.pieces(s1, "", 0, 5, 100);
    f.pieces("p1", s1, 0, 2, 100);
    f.pieces("p2", s1, 0, 2, 100);
    assertThat(p1.lastParents()).contains(s1);

    scheduler.streamEnded(TASK, s1, seed);
    assertThat(f.triggered).as("the same seed host, asked again").containsExactly("seed/t", "seed/t");
    // Its new seed peer serves them meanwhile, from what the host holds.
    String again = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).contains(again);
    assertThat(p2.lastParents()).contains(again);
    for (RecordingStream peer : List.of(p1, p2)) {
      assertThat(peer.sent).extracting(r -> r.getResponseCase()).doesNotContain(ResponseCase.NEED_BACK_TO_SOURCE);
    }
    assertThat(f.counter("dfly.scheduler.back.to.source", "reason", "no_parent")).isZero();

    // Had it dropped the task, it takes the trigger and registers here again under that id.
    f.register(again, seedHost);
    scheduler.tick();
    assertThat(p1.lastParents()).contains(again);
    assertThat(p2.lastParents()).contains(again);
  }

  @Test
  void justAfterAStartAPeerWaitsForSeedHostsToAnnounceBeforeTheOrigin() {
    SchedulerFixture restarted = new SchedulerFixture(new SchedulerConfig());
    RecordingStream p1 = restarted.register("p1", restarted.host("h1"));
    assertThat(p1.sent).as("no seed host has announced yet").isEmpty();
    restarted.advanceSeconds(1);
    restarted.seedHost("seed"); // announces again after the restart
    restarted.scheduler.tick();
    assertThat(restarted.triggered).containsExactly("seed/t");

    // Past the grace, a task nobody can serve goes to the origin at once.
    SchedulerFixture seedless = new SchedulerFixture(new SchedulerConfig());
    seedless.advanceSeconds(seedless.config.seedGraceSeconds);
    RecordingStream p2 = seedless.register("p2", seedless.host("h2"));
    assertThat(p2.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void anUnreachableSeedSendsAWaitingPeerToTheOrigin() {
    f.triggerResult = CompletableFuture.failedFuture(new RuntimeException("connection refused"));
    f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    assertThat(p1.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void aTriggeredSeedPeerThatNeverRegistersIsDroppedAfterTheRoundsAndItsChildrenGoElsewhere() {
    f.seedHost("seed"); // triggered, but never registers (stuck, say)
    RecordingStream p1 = f.register("p1", f.host("h1"));
    assertThat(p1.lastParents()).containsExactly(f.lastTriggeredPeer());
    for (int round = 1; round < f.config.backToSourceAfterRounds; round++) {
      scheduler.tick();
    }
    assertThat(p1.sent).hasSize(1);
    scheduler.tick();
    assertThat(p1.lastCase()).as("no other seed host: the origin").isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(1);
  }

  @Test
  void noMoreThanThreePeersOfATaskFetchFromTheOriginAtOnce() {
    Host h0 = f.host("h0");
    f.register("p0", h0);
    scheduler.backToSourceStarted(TASK, "p0");
    List<Host> hosts = new ArrayList<>();
    List<RecordingStream> streams = new ArrayList<>();
    // Every host is out of upload slots: nobody can fetch from anybody.
    f.load(h0, 200);
    for (int i = 1; i <= 5; i++) {
      Host host = f.host("h" + i);
      f.load(host, 200);
      hosts.add(host);
      streams.add(f.register("p" + i, host));
    }
    for (int round = 0; round < f.config.backToSourceAfterRounds; round++) {
      scheduler.tick();
    }
    long toOrigin = streams.stream().filter(s -> s.lastCase() == ResponseCase.NEED_BACK_TO_SOURCE).count();
    assertThat(toOrigin).as("peers sent to the origin beside the first").isEqualTo(2);
    assertThat(streams.stream().filter(s -> s.sent.isEmpty()).count()).isEqualTo(3);

    // One of them finishes: the next waiting peer may go.
    String done = "p" + (streams.indexOf(streams.stream()
        .filter(s -> s.lastCase() == ResponseCase.NEED_BACK_TO_SOURCE).findFirst().orElseThrow()) + 1);
    f.finished(done, 4 * SchedulerFixture.PIECE, 4);
    scheduler.tick();
    assertThat(streams.stream().filter(s -> s.lastCase() == ResponseCase.NEED_BACK_TO_SOURCE).count()).isEqualTo(3);
  }

  @Test
  void anOriginFailureAtTheSeedFailsTheWaitingPeersWithItsReason() {
    Host seedHost = f.seedHost("seed");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    f.register("s", seedHost);
    scheduler.backToSourceStarted(TASK, "s");
    scheduler.peerFailed(TASK, "s", "origin returned HTTP 404", true);

    assertThat(p1.lastCase()).isEqualTo(ResponseCase.TASK_FAILED);
    assertThat(p1.last().getTaskFailed().getReason()).isEqualTo("origin returned HTTP 404");
    assertThat(p1.completed).isTrue();
    // the next attempt starts afresh with the seed peer
    f.register("p2", f.host("h2"));
    assertThat(f.triggered).containsExactly("seed/t", "seed/t");
  }

  @Test
  void aSeedHostThatIsGoneMovesOnlyItsOwnTasksToOtherSeedHosts() {
    // One scheduler sees three seed hosts; another, after seed-c died, sees two. Rendezvous
    // hashing keeps every task of seed-a and seed-b where it was, so the schedulers still agree on
    // those and only seed-c's tasks are fetched again elsewhere.
    SchedulerFixture withoutC = new SchedulerFixture();
    for (SchedulerFixture fixture : List.of(f, withoutC)) {
      fixture.seedHost("seed-a");
      fixture.seedHost("seed-b");
      if (fixture == f) {
        fixture.seedHost("seed-c");
      }
      Host normal = fixture.host("h1");
      for (int i = 0; i < 60; i++) {
        fixture.register("task-" + i, "p" + i, normal);
      }
    }
    int moved = 0;
    for (int i = 0; i < 60; i++) {
      String before = f.triggered.get(i);
      if (before.startsWith("seed-c/")) {
        moved++;
        assertThat(withoutC.triggered.get(i)).isIn("seed-a/task-" + i, "seed-b/task-" + i);
      } else {
        assertThat(withoutC.triggered.get(i)).as("task-" + i + " keeps its seed host").isEqualTo(before);
      }
    }
    assertThat(moved).as("seed-c had its share of the tasks").isBetween(10, 30);
  }

  @Test
  void aSeedPeerBlockedForACorruptPieceIsReplacedByTheNextSeedHost() {
    Host a = f.seedHost("seed-a");
    Host b = f.seedHost("seed-b");
    RecordingStream p1 = f.register("p1", f.host("h1"));
    String first = f.triggered.getFirst();
    Host firstSeed = first.startsWith("seed-a/") ? a : b;
    Host nextSeed = firstSeed == a ? b : a;
    String s1 = f.lastTriggeredPeer();
    f.register(s1, firstSeed);
    f.pieces(s1, "", 0, 7, 100);
    f.pieces("p1", s1, 0, 1, 100);
    RecordingStream p2 = f.register("p2", f.host("h2"));
    assertThat(p2.lastParents()).containsExactlyInAnyOrder(s1, "p1");

    scheduler.pieceFailed(TASK, "p1", s1, true, false);
    assertThat(f.triggered).containsExactly(first, nextSeed.getId() + "/t");
    String s2 = f.lastTriggeredPeer();
    assertThat(p1.lastParents()).containsExactly(s2);
    scheduler.tick(); // p2, if scheduled before p1 took the trigger, gets it in the round
    assertThat(p2.lastParents()).containsExactlyInAnyOrder(s2, "p1");
    for (RecordingStream peer : List.of(p1, p2)) {
      assertThat(peer.sent).extracting(r -> r.getResponseCase()).doesNotContain(ResponseCase.NEED_BACK_TO_SOURCE);
    }
  }

  @Test
  void theRoundsBeforeTheOriginAreSetInConfigAndCountOnlyRoundsInARowWithoutAParent() {
    SchedulerConfig config = SchedulerFixture.withoutSeedGrace();
    config.backToSourceAfterRounds = 3;
    SchedulerFixture g = new SchedulerFixture(config);
    // After a failover p1 registers again with what it holds and waits for its fellows.
    RecordingStream p1 = g.register(TASK, "p1", g.host("h1"), RegisterPeer.newBuilder()
        .setDownload(SchedulerFixture.DOWNLOAD).addAllFinishedPieces(List.of(0, 1)).build());
    g.scheduler.tick();
    g.scheduler.tick();
    // p2 comes back with other pieces: they serve each other, and p1's count starts again.
    RecordingStream p2 = g.register(TASK, "p2", g.host("h2"), RegisterPeer.newBuilder()
        .setDownload(SchedulerFixture.DOWNLOAD).addAllFinishedPieces(List.of(2, 3)).build());
    assertThat(p1.lastParents()).containsExactly("p2");
    g.scheduler.streamEnded(TASK, "p2", p2);
    assertThat(p1.lastCase()).as("told to stop using p2").isEqualTo(ResponseCase.NORMAL_TASK);
    assertThat(p1.lastParents()).isEmpty();

    g.scheduler.tick();
    g.scheduler.tick();
    assertThat(p1.lastCase()).as("two rounds without a parent since p2 left").isEqualTo(ResponseCase.NORMAL_TASK);
    g.scheduler.tick();
    assertThat(p1.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(g.counter("dfly.scheduler.back.to.source", "reason", "rounds")).isEqualTo(1);
  }

  // ---- size classes ----------------------------------------------------------------------

  @Test
  void anEmptyTaskIsAnsweredDirectly() {
    f.register("p1", f.host("h1"));
    f.finished("p1", 0, 0);
    RecordingStream p2 = f.register("p2", f.host("h2"));
    assertThat(p2.lastCase()).isEqualTo(ResponseCase.EMPTY_TASK);
    assertThat(f.counter("dfly.scheduler.decisions", "outcome", "direct")).isEqualTo(1);
  }

  @Test
  void aTinyTaskTravelsInTheAnswer() {
    f.register("p1", f.host("h1"));
    Piece piece = Piece.newBuilder().setNumber(0).setLength(5).setDigest("1a2b3c4d").build();
    scheduler.pieceFinished(TASK, "p1", PieceFinished.newBuilder().setPiece(piece).build());
    scheduler.peerFinished(TASK, "p1", PeerFinished.newBuilder().setContentLength(5).setPieceCount(1)
        .setContent(ByteString.copyFromUtf8("hello")).build());

    RecordingStream p2 = f.register("p2", f.host("h2"));
    assertThat(p2.lastCase()).isEqualTo(ResponseCase.TINY_TASK);
    assertThat(p2.last().getTinyTask().getContent().toStringUtf8()).isEqualTo("hello");
    assertThat(p2.last().getTinyTask().getPiece()).isEqualTo(piece);
  }

  @Test
  void aSinglePieceTaskGetsTheOneBestParentThatHasThePiece() {
    RecordingStream p1 = f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 0, 100);
    f.finished("p1", SchedulerFixture.PIECE / 2, 1);
    f.register("p2", f.host("h2")); // running, no piece yet
    RecordingStream p3 = f.register("p3", f.host(Host.newBuilder().setId("h3")));

    assertThat(p3.lastParents()).containsExactly("p1");
  }

  @Test
  void aTaskOfAtMost128BytesTravelsInTheAnswerAndOneOf129DoesNot() {
    for (int length : new int[] {128, 129}) {
      String task = "task-" + length;
      f.register(task, "first-" + length, f.host("first-" + length));
      Piece piece = Piece.newBuilder().setNumber(0).setLength(length).setDigest("1a2b3c4d").build();
      scheduler.pieceFinished(task, "first-" + length, PieceFinished.newBuilder().setPiece(piece).build());
      scheduler.peerFinished(task, "first-" + length, PeerFinished.newBuilder().setContentLength(length)
          .setPieceCount(1).setContent(ByteString.copyFrom(new byte[length])).build());
    }
    RecordingStream tiny = f.register("task-128", "next-128", f.host("next-128"));
    assertThat(tiny.lastCase()).isEqualTo(ResponseCase.TINY_TASK);
    assertThat(tiny.last().getTinyTask().getContent().size()).isEqualTo(128);
    RecordingStream small = f.register("task-129", "next-129", f.host("next-129"));
    assertThat(small.lastParents()).as("one piece, from its one holder").containsExactly("first-129");
  }

  @Test
  void aSinglePieceTaskGetsOnlyTheBestOfItsHoldersEvenWhenAPeerStillFetchingScoresHigher() {
    // Both holders' hosts were blocked elsewhere (h1 twice, h2 once): their scores are divided by
    // 1 + their penalty, below that of a peer still fetching the piece, which could only make the
    // child wait.
    Host h1 = f.host("h1");
    Host h2 = f.host("h2");
    penaliseOnce(h1, "elsewhere-1");
    penaliseOnce(h1, "elsewhere-2");
    penaliseOnce(h2, "elsewhere-3");
    f.register("p1", h1);
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 0, 100);
    f.finished("p1", SchedulerFixture.PIECE / 2, 1);
    f.register("p2", h2);
    f.pieces("p2", "p1", 0, 0, 100);
    f.finished("p2", SchedulerFixture.PIECE / 2, 1);
    RecordingStream p3 = f.register("p3", f.host("h3"));
    assertThat(p3.lastParents()).hasSize(1);

    RecordingStream p4 = f.register("p4", f.host("h4"));
    assertThat(p4.lastParents()).containsExactly("p2");
  }

  /** A peer on {@code host} serves a corrupt piece in task {@code task}: blocked there, its host penalised by 1. */
  private void penaliseOnce(Host host, String task) {
    f.register(task, host.getId() + "-" + task, host);
    scheduler.backToSourceStarted(task, host.getId() + "-" + task);
    f.register(task, "child-" + task, f.host("child-" + task));
    scheduler.pieceFailed(task, "child-" + task, host.getId() + "-" + task, true, false);
  }

  // ---- parents that leave or misbehave ----------------------------------------------------

  @Test
  void aParentThatLeavesIsReplacedOrTheChildGoesToTheOrigin() {
    RecordingStream p1 = f.register("p1", f.host("h1"));
    RecordingStream p2 = f.register("p2", f.host("h2"));
    RecordingStream p3 = f.register("p3", f.host("h3"));
    assertThat(p1.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p3.lastParents()).containsExactlyInAnyOrder("p1", "p2");

    scheduler.streamEnded(TASK, "p2", p2);
    assertThat(p3.lastParents()).containsExactly("p1");

    scheduler.streamEnded(TASK, "p1", p1); // the only source left before finishing
    assertThat(p3.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  /**
   * p1 fetches the whole task from the origin, p2 has half of it from p1; the children p3 and p4
   * (returned in that order) both get p2 as a parent.
   */
  private RecordingStream[] childrenOfASourceAndAPartialParent() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 9, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 5, 100);
    RecordingStream p3 = f.register("p3", f.host("h3"));
    RecordingStream p4 = f.register("p4", f.host("h4"));
    assertThat(p3.lastParents()).contains("p2");
    assertThat(p4.lastParents()).contains("p2");
    return new RecordingStream[] {p3, p4};
  }

  @Test
  void aParentThatServesACorruptPieceIsBlockedForTheWholeTaskAndItsHostPenalised() {
    RecordingStream[] children = childrenOfASourceAndAPartialParent();
    RecordingStream p3 = children[0];
    RecordingStream p4 = children[1];

    scheduler.pieceFailed(TASK, "p3", "p2", true, false);
    assertThat(p3.lastParents()).containsExactly("p1");
    assertThat(p4.lastParents()).as("blocked for every child of the task").doesNotContain("p2");
    RecordingStream p5 = f.register("p5", f.host("h5"));
    assertThat(p5.lastParents()).doesNotContain("p2");
    assertThat(scheduler.host("h2").penalty(f.now)).isEqualTo(1);
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "corrupt")).isEqualTo(1);
    assertThat(f.registry.find("dfly.scheduler.host.penalties").counter().count()).isEqualTo(1);
  }

  @Test
  void aParentWhosePiecesKeepFailingIsBlockedAfterTheLimit() {
    RecordingStream p3 = childrenOfASourceAndAPartialParent()[0];
    scheduler.pieceFailed(TASK, "p3", "p2", false, false);
    scheduler.pieceFailed(TASK, "p4", "p2", false, false);
    assertThat(p3.lastParents()).contains("p2");
    scheduler.pieceFailed(TASK, "p3", "p2", false, false);
    assertThat(p3.lastParents()).doesNotContain("p2");
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "failures")).isEqualTo(1);
  }

  @Test
  void aParentThatStallsIsBlockedAtItsFirstStalledPiece() {
    RecordingStream[] children = childrenOfASourceAndAPartialParent();
    RecordingStream p3 = children[0];
    RecordingStream p4 = children[1];
    scheduler.pieceFailed(TASK, "p3", "p2", false, true);
    assertThat(p3.lastParents()).doesNotContain("p2");
    assertThat(p4.lastParents()).as("blocked for every child of the task").doesNotContain("p2");
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "stalled")).isEqualTo(1);
  }

  @Test
  void aParentFarSlowerThanTheChildrensOtherParentsIsBlocked() {
    RecordingStream[] children = childrenOfThreeParents();
    // Every 800 ms p1 and p3 each deliver a piece to both children in 100 ms; p2 needs the whole
    // 800 ms for its two: 8x the cost per piece, an eighth of the bytes.
    for (int n = 0; n < 30; n += 3) {
      f.advanceMillis(800);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100);
        f.pieces(child, "p3", 32 + n % 30, 32 + n % 30, 100);
        f.pieces(child, "p2", n + 1, n + 1, 800);
      }
      scheduler.tick();
    }
    assertThat(children[0].lastParents()).doesNotContain("p2");
    assertThat(children[1].lastParents()).doesNotContain("p2");
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "slow")).isEqualTo(1);
  }

  @Test
  void aParentWhosePiecesCostMoreBecauseManyChildrenShareItsUplinkIsNotBlocked() {
    RecordingStream[] children = childrenOfThreeParents();
    // p2 serves each child four pieces at once, each in 500 ms, where p1 and p3 serve one in
    // 100 ms: 5x the cost per piece, yet 80 % of their bytes. It is busy, not slow.
    for (int n = 0; n < 24; n += 6) {
      f.advanceMillis(500);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100);
        f.pieces(child, "p3", 32 + n, 32 + n, 100);
        f.pieces(child, "p2", n + 1, n + 4, 500);
      }
      scheduler.tick();
    }
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();
    assertThat(children[0].lastParents()).contains("p2");
    assertThat(children[1].lastParents()).contains("p2");
  }

  /** Parents p1 (from the origin), p2 and p3 holding pieces, and children c1 and c2 of all three. */
  private RecordingStream[] childrenOfThreeParents() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 63, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "", 0, 31, 100);
    f.register("p3", f.host("h3"));
    f.pieces("p3", "", 32, 63, 100);
    RecordingStream c1 = f.register("c1", f.host("h4"));
    RecordingStream c2 = f.register("c2", f.host("h5"));
    assertThat(c1.lastParents()).contains("p1", "p2", "p3");
    assertThat(c2.lastParents()).contains("p1", "p2", "p3");
    return new RecordingStream[] {c1, c2};
  }

  @Test
  void aParentWithAThinUplinkKeepsOnlyItsShareOfChildren() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 63, 100);
    f.register("p2", f.host("thin"));
    f.pieces("p2", "p1", 0, 31, 100);
    f.register("p3", f.host("h3"));
    f.pieces("p3", "p1", 32, 63, 100);
    // Before anyone has measured p2, it is as good a parent as any.
    RecordingStream c1 = f.register("c1", f.host("h4"));
    RecordingStream c2 = f.register("c2", f.host("h5"));
    assertThat(c1.lastParents()).contains("p1", "p2", "p3");
    assertThat(c2.lastParents()).contains("p1", "p2", "p3");
    // Every 300 ms p1 and p3 each deliver a piece to both children in 100 ms, while p2 takes the
    // whole 300 ms for its two: a third of their rate. Its pieces cost no more than theirs would
    // on a busy uplink, so no cost rule blocks it; it holds pieces others need.
    for (int n = 0; n < 15; n += 3) {
      f.advanceMillis(300);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100);
        f.pieces(child, "p3", 32 + n, 32 + n, 100);
        f.pieces(child, "p2", n + 1, n + 1, 300);
      }
    }
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();

    // Its share is one child (candidate-parent-limit 4 x a third): one of the two lets it go, the
    // other keeps it, and a new peer does not get it.
    scheduler.tick();
    assertThat(f.counter("dfly.scheduler.parents.slow")).isEqualTo(1);
    RecordingStream c3 = f.register("c3", f.host("h6"));
    assertThat(List.of(c1.lastParents(), c2.lastParents())).filteredOn(parents -> parents.contains("p2")).hasSize(1);
    assertThat(c3.lastParents()).contains("p1", "p3").doesNotContain("p2");
    scheduler.tick();
    assertThat(List.of(c1.lastParents(), c2.lastParents(), c3.lastParents()))
        .as("no churn once it has its share").filteredOn(parents -> parents.contains("p2")).hasSize(1);
  }

  @Test
  void aSlowSeedPeerStillTakesEveryChild() {
    Host seedHost = f.seedHost("seed");
    f.register("s", seedHost);
    f.pieces("s", "", 0, 127, 10);
    // p1..p3 hold pieces (from the origin, so that the seed peer's record is the children's alone).
    f.register("p1", f.host("h1"));
    f.pieces("p1", "", 0, 63, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "", 64, 95, 100);
    f.register("p3", f.host("h3"));
    f.pieces("p3", "", 96, 127, 100);
    RecordingStream c1 = f.register("c1", f.host("h4"));
    RecordingStream c2 = f.register("c2", f.host("h5"));
    // The seed peer delivers a third of what the others do, as p2 did in the test above.
    for (int n = 0; n < 12; n += 3) {
      f.advanceMillis(300);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100);
        f.pieces(child, "p2", 64 + n, 64 + n, 100);
        f.pieces(child, "p3", 96 + n, 96 + n, 100);
        f.pieces(child, "s", n + 1, n + 1, 300);
      }
    }
    scheduler.tick();
    RecordingStream c3 = f.register("c3", f.host("h6"));
    assertThat(c1.lastParents()).contains("s");
    assertThat(c2.lastParents()).contains("s");
    assertThat(c3.lastParents()).contains("s");
    assertThat(f.counter("dfly.scheduler.parents.slow")).isZero();
  }

  @Test
  void aChildThatIsSlowWithEveryParentBlocksNone() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 63, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 31, 100);
    RecordingStream slowChild = f.register("c", f.host("h3"));
    // A rate-limited child: every piece costs it 2 s, whoever serves it.
    for (int n = 0; n < 30; n += 2) {
      f.pieces("c", "p1", n, n, 2000 + n);
      f.pieces("c", "p2", n + 1, n + 1, 2000 - n);
    }
    assertThat(slowChild.lastParents()).containsExactlyInAnyOrder("p1", "p2");
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();
  }

  @Test
  void aParentWhoseCostsJumpFarAboveItsOwnHistoryIsBlocked() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 63, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 40, 100);
    RecordingStream child = f.register("c", f.host("h3"));
    int n = 0;
    for (; n < 40; n += 2) {
      f.pieces("c", "p1", n, n, 100 + n % 7);
      f.pieces("c", "p2", n + 1, n + 1, 100 - n % 5);
    }
    assertThat(child.lastParents()).containsExactlyInAnyOrder("p1", "p2");
    // p2's link degrades: its next pieces take ten times as long, one after the other.
    for (int i = 0; i < 4; i++, n += 2) {
      f.advanceMillis(1000);
      f.pieces("c", "p1", n, n, 100);
      f.pieces("c", "p2", n + 1, n + 1, 1000);
    }
    assertThat(child.lastParents()).as("four pieces are not yet a trend").containsExactlyInAnyOrder("p1", "p2");
    for (int i = 0; i < 1; i++, n += 2) {
      f.advanceMillis(1000);
      f.pieces("c", "p1", n, n, 100);
      f.pieces("c", "p2", n + 1, n + 1, 1000);
    }
    assertThat(child.lastParents()).containsExactly("p1");
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "cost_jump")).isEqualTo(1);
  }

  @Test
  void oneLongPauseOfAParentIsOneEventNotAStreak() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 99, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 99, 100);
    RecordingStream c1 = f.register("c1", f.host("h3"));
    RecordingStream c2 = f.register("c2", f.host("h4"));
    int n = 0;
    for (; n < 40; n += 2) {
      f.advanceMillis(100);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100 + n % 7);
        f.pieces(child, "p2", n + 1, n + 1, 100 - n % 5);
      }
    }
    // p2 stops for 3 s (a long GC, a descheduled VM): the eight pieces it was serving to its two
    // children all end late, together. Then it serves as before.
    f.advanceMillis(3000);
    for (String child : List.of("c1", "c2")) {
      f.pieces(child, "p2", n, n + 3, 3000);
    }
    for (n += 4; n < 60; n += 2) {
      f.advanceMillis(100);
      for (String child : List.of("c1", "c2")) {
        f.pieces(child, "p1", n, n, 100);
        f.pieces(child, "p2", n + 1, n + 1, 100);
      }
    }
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();
    assertThat(c1.lastParents()).contains("p2");
    assertThat(c2.lastParents()).contains("p2");
  }

  @Test
  void costsThatRiseForEveryParentAsChildrenMultiplyBlockNone() {
    Host seedHost = f.seedHost("seed");
    f.register("s", seedHost);
    f.pieces("s", "", 0, 255, 10);
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      f.register("p" + i, f.host("h" + i));
      f.pieces("p" + i, "s", 0, 40, 100);
      peers.add("p" + i);
    }
    // Every child fetches from the seed peer and two peers; as the swarm grows all uplinks are
    // shared by more children and every cost climbs, the seed peer's fastest of all.
    int piece = 41;
    for (int step = 0; step < 60; step++) {
      double load = 1 + step / 10.0;
      for (int i = 0; i < 8; i++) {
        String child = peers.get(i);
        f.pieces(child, "s", piece, piece, (long) (100 * load * load));
        f.pieces(child, peers.get((i + 1) % 8), piece + 1, piece + 1, (long) (100 * load * (1 + i % 3 / 10.0)));
        f.pieces(child, peers.get((i + 2) % 8), piece + 2, piece + 2, (long) (110 * load));
      }
      piece = 41 + (piece - 38) % 200;
    }
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();
  }

  @Test
  void aSeedPeerIsNeverBlockedForBeingSlowOnlyForBadPieces() {
    Host seedHost = f.seedHost("seed");
    f.register("s", seedHost);
    f.pieces("s", "", 0, 127, 10);
    f.register("p1", f.host("h1"));
    f.pieces("p1", "s", 0, 63, 100);
    RecordingStream child = f.register("c", f.host("h2"));
    for (int n = 0; n < 60; n += 2) {
      f.pieces("c", "p1", n, n, 100);
      f.pieces("c", "s", n + 1, n + 1, 2000);
    }
    assertThat(child.lastParents()).containsExactlyInAnyOrder("s", "p1");
    scheduler.pieceFailed(TASK, "c", "s", true, false);
    assertThat(child.lastParents()).containsExactly("p1");
    assertThat(f.counter("dfly.scheduler.parents.blocked", "reason", "corrupt")).isEqualTo(1);
  }

  @Test
  void aHostBlockedAgainAndAgainGetsNoChildrenUntilItsPenaltyDecays() {
    Host bad = f.host("bad");
    Host good = f.host("good");
    Host children = f.host("children");
    for (int t = 0; t < 3; t++) {
      String task = "task-" + t;
      f.register(task, "good-" + t, good);
      scheduler.backToSourceStarted(task, "good-" + t);
      f.register(task, "bad-" + t, bad);
      scheduler.backToSourceStarted(task, "bad-" + t);
      f.register(task, "child-" + t, children);
      scheduler.pieceFailed(task, "child-" + t, "bad-" + t, true, false);
    }
    assertThat(scheduler.host("bad").penalty(f.now)).isEqualTo(3);
    assertThat(f.registry.find("dfly.scheduler.hosts.excluded").gauge().value()).isEqualTo(1);

    // A new task: the penalised host fetches from the origin, but nobody is sent to it.
    RecordingStream first = f.register("fresh", "bad-fresh", bad);
    assertThat(first.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    scheduler.backToSourceStarted("fresh", "bad-fresh");
    RecordingStream child = f.register("fresh", "child-fresh", children);
    assertThat(child.lastCase()).as("the origin rather than the penalised host")
        .isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    scheduler.backToSourceStarted("fresh", "child-fresh");

    // Two half-lives later the penalty is 0.75: the host may serve again, at a lower score.
    f.advanceSeconds(2 * f.config.badParents.hostPenaltyHalfLifeSeconds);
    assertThat(scheduler.host("bad").penalty(f.now)).isEqualTo(0.75);
    RecordingStream late = f.register("fresh", "late", f.host("late"));
    assertThat(late.lastParents()).containsExactly("child-fresh", "bad-fresh");
  }

  @Test
  void aSeedPeerWhoseCostsJumpIsNotBlocked() {
    // The same jump that blocks a peer (aParentWhoseCostsJumpFarAboveItsOwnHistoryIsBlocked):
    // a seed peer is the task's source, busiest by design, and only bad pieces block it.
    Host seedHost = f.seedHost("seed");
    f.register("s", seedHost);
    f.pieces("s", "", 0, 127, 10);
    f.register("p1", f.host("h1"));
    f.pieces("p1", "s", 0, 63, 100);
    RecordingStream child = f.register("c", f.host("h2"));
    int n = 0;
    for (; n < 40; n += 2) {
      f.pieces("c", "p1", n, n, 100 + n % 7);
      f.pieces("c", "s", n + 1, n + 1, 100 - n % 5);
    }
    for (int i = 0; i < 8; i++, n += 2) {
      f.advanceMillis(1000);
      f.pieces("c", "p1", n, n, 100);
      f.pieces("c", "s", n + 1, n + 1, 1000);
    }
    assertThat(f.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();
    assertThat(child.lastParents()).containsExactlyInAnyOrder("s", "p1");
  }

  @Test
  void aBlockIsLoggedWithTheParentItsHostAndWhy() {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(TaskScheduler.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events =
        new ch.qos.logback.core.read.ListAppender<>();
    events.start();
    logger.addAppender(events);
    try {
      childrenOfASourceAndAPartialParent();
      scheduler.pieceFailed(TASK, "p3", "p2", true, false);
    } finally {
      logger.detachAppender(events);
    }
    assertThat(events.list).filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
        .containsExactly("task t: parent p2 on host h2 blocked: it served a corrupt piece to p3; host penalty now 1.00");
  }

  @Test
  void aHostWhosePiecesFailedInEarlierTasksRanksBelowOneThatServedThemWell() {
    SchedulerConfig config = SchedulerFixture.withoutSeedGrace();
    config.candidateParentLimit = 1;
    SchedulerFixture g = new SchedulerFixture(config);
    Host shaky = g.host("shaky");
    Host solid = g.host("solid");
    // Earlier, each host failed one piece (not enough to be blocked); solid served nine more, shaky one.
    g.register("earlier", "shaky-e", shaky);
    g.scheduler.backToSourceStarted("earlier", "shaky-e");
    g.register("earlier", "solid-e", solid);
    g.scheduler.backToSourceStarted("earlier", "solid-e");
    g.register("earlier", "c", g.host("c"));
    for (int n = 0; n < 10; n++) {
      String parent = n == 0 ? "shaky-e" : "solid-e";
      g.scheduler.pieceFinished("earlier", "c", PieceFinished.newBuilder().setParentId(parent)
          .setPiece(Piece.newBuilder().setNumber(n).setLength(SchedulerFixture.PIECE)).build());
    }
    g.scheduler.pieceFailed("earlier", "c", "shaky-e", false, false);
    g.scheduler.pieceFailed("earlier", "c", "solid-e", false, false);
    assertThat(g.registry.find("dfly.scheduler.parents.blocked").counters()).isEmpty();

    // Now both hold a new task whole; a newcomer's one parent is the host that serves well.
    for (String peer : List.of("shaky-t", "solid-t")) {
      g.register(peer, peer.startsWith("shaky") ? shaky : solid);
      g.scheduler.backToSourceStarted(TASK, peer);
      g.pieces(peer, "", 0, 3, 100);
      g.finished(peer, 4 * SchedulerFixture.PIECE, 4);
    }
    RecordingStream newcomer = g.register("newcomer", g.host("h3"));
    assertThat(newcomer.lastParents()).containsExactly("solid-t");
  }

  // ---- better parents as the task progresses -------------------------------------------------

  @Test
  void aPeerThatFinishesReplacesAParentWithNothingNewAtTheNextRound() {
    SchedulerConfig config = SchedulerFixture.withoutSeedGrace();
    config.candidateParentLimit = 2;
    SchedulerFixture g = new SchedulerFixture(config);
    g.register("p1", g.host("h1"));
    g.scheduler.backToSourceStarted(TASK, "p1");
    g.pieces("p1", "", 0, 63, 100);
    g.register("p2", g.host("h2"));
    g.pieces("p2", "p1", 0, 9, 100);
    RecordingStream c = g.register("c", g.host("h3"));
    assertThat(c.lastParents()).containsExactlyInAnyOrder("p1", "p2");
    g.pieces("c", "p2", 0, 9, 100); // all p2 has; it is still fetching, slowly
    g.register("p3", g.host("h4"));
    g.pieces("p3", "p1", 0, 63, 100);
    g.finished("p3", 64 * SchedulerFixture.PIECE, 64);
    assertThat(c.lastParents()).as("running peers wait for the round").containsExactlyInAnyOrder("p1", "p2");

    g.scheduler.tick();
    assertThat(c.lastParents()).containsExactlyInAnyOrder("p1", "p3");
  }

  @Test
  void aHostOutOfUploadSlotsGetsNoNewChildrenUntilItAnnouncesFreeOnes() {
    Host h1 = f.host("h1");
    f.register("p1", h1);
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 9, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 4, 100);
    f.load(h1, 200);
    RecordingStream p3 = f.register("p3", f.host("h3"));
    assertThat(p3.lastParents()).containsExactly("p2");

    f.load(h1, 20); // its next announcement
    RecordingStream p4 = f.register("p4", f.host("h4"));
    assertThat(p4.lastParents()).contains("p1");
    scheduler.tick();
    assertThat(p3.lastParents()).contains("p1", "p2");
  }

  // ---- garbage collection ----------------------------------------------------------------

  @Test
  void aHostThatStopsAnnouncingIsForgottenWithItsPeersAndTheirChildrenMoveOn() {
    Host h1 = f.host("h1");
    Host h2 = f.host("h2");
    Host h3 = f.host("h3");
    f.register("p1", h1);
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 9, 100);
    f.register("p2", h2);
    RecordingStream p3 = f.register("p3", h3);
    assertThat(p3.lastParents()).containsExactlyInAnyOrder("p1", "p2");

    f.advanceSeconds(f.config.gc.hostTtlSeconds - 10);
    scheduler.announceHost(h1, null);
    scheduler.announceHost(h3, null);
    f.pieces("p3", "p1", 0, 0, 100);
    f.pieces("p2", "p1", 0, 0, 100);
    f.advanceSeconds(20);
    scheduler.tick();
    assertThat(scheduler.host("h2")).isNull();
    assertThat(p3.lastParents()).containsExactly("p1");
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(2);
  }

  @Test
  void aSilentPeerIsFailedAndAnUnusedFinishedPeerForgottenThenTheTask() {
    Host h1 = f.host("h1");
    Host h2 = f.host("h2");
    f.register("p1", h1);
    f.pieces("p1", "", 0, 3, 100);
    f.finished("p1", 4 * SchedulerFixture.PIECE, 4);
    RecordingStream p2 = f.register("p2", h2);
    assertThat(p2.lastParents()).containsExactly("p1");

    f.advanceSeconds(f.config.gc.peerIdleSeconds + 1);
    scheduler.announceHost(h1, null);
    scheduler.announceHost(h2, null);
    scheduler.tick();
    assertThat(p2.lastCase()).isEqualTo(ResponseCase.TASK_FAILED);
    assertThat(p2.completed).isTrue();
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(1);

    for (long waited = 0; waited < f.config.gc.finishedPeerTtlSeconds; waited += 60) {
      f.advanceSeconds(60);
      scheduler.announceHost(h1, null);
      scheduler.tick();
    }
    assertThat(scheduler.stat(TASK)).isEmpty();
    assertThat(scheduler.host("h1")).isNotNull();
  }

  @Test
  void aFinishedPeerStaysAParentAfterItsStreamCloses() {
    RecordingStream p1 = f.register("p1", f.host("h1"));
    f.pieces("p1", "", 0, 1, 100);
    f.finished("p1", 2 * SchedulerFixture.PIECE, 2);
    scheduler.streamEnded(TASK, "p1", p1);
    RecordingStream p2 = f.register("p2", f.host("h2"));
    assertThat(p2.lastParents()).containsExactly("p1");
    assertThat(scheduler.stat(TASK)).hasValueSatisfying(stat -> assertThat(stat.getState()).isEqualTo("SUCCEEDED"));
  }

  @Test
  void peersRegisteringAgainAfterAFailoverServeWhatTheyHoldAndWaitForEachOtherBeforeTheOrigin() {
    Host h1 = f.host("h1");
    Host h2 = f.host("h2");
    Host h3 = f.host("h3");
    // This scheduler is new to the task: its peers come back one by one with what they hold.
    RecordingStream p1 = f.register(TASK, "p1", h1, RegisterPeer.newBuilder().setDownload(SchedulerFixture.DOWNLOAD)
        .addAllFinishedPieces(List.of(0, 1, 2, 3)).build());
    assertThat(p1.sent).as("no back-to-source order for a peer that holds pieces").isEmpty();
    RecordingStream p2 = f.register(TASK, "p2", h2, RegisterPeer.newBuilder().setDownload(SchedulerFixture.DOWNLOAD)
        .addAllFinishedPieces(List.of(4, 5)).build());
    assertThat(p2.lastParents()).containsExactly("p1");
    assertThat(p1.lastParents()).as("a waiting peer serves what it holds").containsExactly("p2");
    RecordingStream p3 = f.register(TASK, "p3", h3, RegisterPeer.newBuilder().setDownload(SchedulerFixture.DOWNLOAD)
        .setBackToSource(true).addAllFinishedPieces(List.of(6)).build());
    assertThat(p3.sent).as("it fetches from the origin already").isEmpty();
    scheduler.tick();
    assertThat(p1.lastParents()).containsExactlyInAnyOrder("p2", "p3");
    assertThat(f.counter("dfly.scheduler.back.to.source", "reason", "no_parent")).isZero();
  }

  @Test
  void aPeerHoldingPiecesThatNobodyCanServeGoesToTheOriginAfterTheRounds() {
    RecordingStream p1 = f.register(TASK, "p1", f.host("h1"), RegisterPeer.newBuilder()
        .setDownload(SchedulerFixture.DOWNLOAD).addAllFinishedPieces(List.of(0, 1)).build());
    for (int round = 0; round < f.config.backToSourceAfterRounds; round++) {
      assertThat(p1.sent).isEmpty();
      scheduler.tick();
    }
    assertThat(p1.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void aPeerRegisteringAgainReplacesItsOldSelfAndTheOldStreamEndingChangesNothing() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 9, 100);
    Host h2 = f.host("h2");
    RecordingStream old = f.register("p2", h2);
    RecordingStream again = f.register("p2", h2);
    scheduler.streamEnded(TASK, "p2", old);
    assertThat(again.lastParents()).containsExactly("p1");
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(2);
  }

  @Test
  void aFinishedPeerThatChildrenStillFetchFromOutlivesTheFinishedPeerTtl() {
    Host h1 = f.host("h1");
    Host h2 = f.host("h2");
    RecordingStream p1 = f.register("p1", h1);
    f.pieces("p1", "", 0, 3, 100);
    f.finished("p1", 4 * SchedulerFixture.PIECE, 4);
    scheduler.streamEnded(TASK, "p1", p1);

    // Five hours later a peer fetches the file from it; two hours after that p1 has reported
    // nothing itself for seven hours, past the six-hour TTL, but served an hour and more ago.
    f.advanceSeconds(5 * 3600);
    scheduler.announceHost(h1, null);
    scheduler.announceHost(h2, null);
    RecordingStream c1 = f.register("c1", h2);
    assertThat(c1.lastParents()).containsExactly("p1");
    f.pieces("c1", "p1", 0, 3, 100);
    f.finished("c1", 4 * SchedulerFixture.PIECE, 4);
    f.advanceSeconds(2 * 3600);
    scheduler.announceHost(h1, null);
    scheduler.announceHost(h2, null);
    scheduler.tick();

    RecordingStream c2 = f.register("c2", f.host("h3"));
    assertThat(c2.lastParents()).containsExactlyInAnyOrder("p1", "c1");
  }

  @Test
  void decisionsAreCountedAndTimed() {
    f.register("p1", f.host("h1"));
    f.register("p2", f.host("h2"));
    assertThat(f.counter("dfly.scheduler.decisions", "outcome", "back_to_source")).isEqualTo(1);
    assertThat(f.counter("dfly.scheduler.decisions", "outcome", "parents")).isEqualTo(1);
    assertThat(f.registry.find("dfly.scheduler.decision.latency").timer().count()).isEqualTo(2);
  }

  @Test
  void badSettingsAreRefusedWithAClearMessage() {
    SchedulerConfig config = SchedulerFixture.withoutSeedGrace();
    config.evaluator.idc = -1;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SchedulerFixture(config))
        .hasMessage("evaluator weights must not be negative");
  }
}
