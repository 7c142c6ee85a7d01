package io.dfly.scheduler.scheduling;

import static io.dfly.scheduler.scheduling.SchedulerFixture.TASK;
import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Host;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse.ResponseCase;
import io.dfly.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;

/**
 * The peer state machine (pending, running, back-to-source, succeeded, failed, left) as peers
 * see it: what each state lets a peer be given, and what it lets it give others.
 */
class PeerStatesTest {
  private final SchedulerFixture f = new SchedulerFixture();
  private final TaskScheduler scheduler = f.scheduler;

  @Test
  void peersThatFetchFromTheOriginOrHaveFinishedAreNotHandedParentsInLaterRounds() {
    RecordingStream p1 = f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 7, 100);
    RecordingStream p2 = f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 1, 100);
    // A third peer fetches from the origin too (its own fallback): it is no descendant of p1, and
    // would be a parent to a peer that is scheduled; p1 is not.
    f.register("p3", f.host("h3"));
    scheduler.backToSourceStarted(TASK, "p3");
    f.pieces("p3", "", 4, 5, 100);
    scheduler.tick();
    assertThat(p1.sent).extracting(r -> r.getResponseCase()).containsExactly(ResponseCase.NEED_BACK_TO_SOURCE);

    f.finished("p1", 8 * SchedulerFixture.PIECE, 8);
    scheduler.tick();
    scheduler.tick();
    assertThat(p1.sent).as("a finished peer is done").hasSize(1);
    assertThat(p2.lastParents()).contains("p1", "p3");
    assertThat(scheduler.stat(TASK).orElseThrow().getState()).isEqualTo("SUCCEEDED");
  }

  @Test
  void aRunningPeerThatFallsBackToTheOriginLetsGoOfItsParentsAndCountsTowardTheLimit() {
    SchedulerConfig config = SchedulerFixture.withoutSeedGrace();
    config.backToSourceLimit = 2;
    SchedulerFixture g = new SchedulerFixture(config);
    Host h1 = g.host("h1");
    Host h2 = g.host("h2");
    g.register("p1", h1);
    g.scheduler.backToSourceStarted(TASK, "p1");
    RecordingStream p2 = g.register("p2", h2);
    assertThat(p2.lastParents()).containsExactly("p1");

    // p2's dfdaemon gave up on its parents and fetches from the origin itself.
    g.scheduler.backToSourceStarted(TASK, "p2");
    g.scheduler.tick();
    assertThat(p2.sent).as("no parents for a peer on the origin").hasSize(1);

    // Both are out of upload slots: a newcomer has no parent, and two fetch from the origin already.
    g.load(h1, 200);
    g.load(h2, 200);
    RecordingStream p3 = g.register("p3", g.host("h3"));
    assertThat(p3.sent).isEmpty();
    g.finished("p2", 4 * SchedulerFixture.PIECE, 4);
    assertThat(p3.lastCase()).as("p2 finished: a place at the origin is free").isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void aPeerThatFailsIsNoParentAnyMoreAndItsChildrenMoveOn() {
    RecordingStream p3 = childOfTwoParents();

    scheduler.peerFailed(TASK, "p2", "no space left on device", false);
    assertThat(p3.lastParents()).containsExactly("p1");
    RecordingStream p4 = f.register("p4", f.host("h4"));
    assertThat(p4.lastParents()).containsExactlyInAnyOrder("p1", "p3");
    assertThat(p3.lastCase()).as("the task goes on: not an origin failure").isEqualTo(ResponseCase.NORMAL_TASK);
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(3);
  }

  @Test
  void aHostOrAPeerThatLeavesIsGoneAtOnceAndTheChildrenMoveOn() {
    RecordingStream p3 = childOfTwoParents();

    // p2's dfdaemon shuts down and says so: no waiting for its host to time out.
    scheduler.leaveHost("h2");
    assertThat(scheduler.host("h2")).isNull();
    assertThat(p3.lastParents()).containsExactly("p1");

    // p1's download is cancelled (its dfget was interrupted): p3 has no source but the origin.
    scheduler.leavePeer(TASK, "p1");
    assertThat(p3.lastCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(scheduler.stat(TASK).orElseThrow().getPeerCount()).isEqualTo(1);
  }

  /** p1 fetches from the origin (10 pieces here), p2 from p1 (5), and p3 has both as parents. */
  private RecordingStream childOfTwoParents() {
    f.register("p1", f.host("h1"));
    scheduler.backToSourceStarted(TASK, "p1");
    f.pieces("p1", "", 0, 9, 100);
    f.register("p2", f.host("h2"));
    f.pieces("p2", "p1", 0, 4, 100);
    RecordingStream p3 = f.register("p3", f.host("h3"));
    assertThat(p3.lastParents()).containsExactlyInAnyOrder("p1", "p2");
    return p3;
  }
}
