package io.dfly.scheduler.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Host;
import io.dfly.api.common.v1.HostType;
import io.dfly.api.scheduler.v1.AnnouncePeerResponse.ResponseCase;
import io.dfly.scheduler.resource.Hosts;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class TaskSchedulerTest {
  private static final Download DOWNLOAD = Download.newBuilder().setUrl("http://origin/f").build();

  private final Hosts hosts = new Hosts();
  private final List<String> triggered = new ArrayList<>();
  private CompletableFuture<Void> triggerResult = CompletableFuture.completedFuture(null);
  private final TaskScheduler scheduler = new TaskScheduler(hosts, new ParentSelector(4),
      (seed, taskId, download) -> {
        triggered.add(seed.getId() + "/" + taskId);
        return triggerResult;
      }, 1, 30_000);

  private Host host(String id, HostType type) {
    Host host = Host.newBuilder().setId(id).setIp("10.0.0." + (hosts.seeds().size() + 1)).setType(type).build();
    hosts.put(host);
    return host;
  }

  private RecordingStream register(String peerId, Host host) {
    RecordingStream stream = new RecordingStream();
    scheduler.register("t", peerId, host, DOWNLOAD, stream);
    return stream;
  }

  @Test
  void withoutSeedPeersTheFirstPeerGoesToTheOriginAndLaterOnesFetchFromIt() {
    RecordingStream first = register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    assertThat(first.last().getResponseCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    scheduler.backToSourceStarted("t", "p1");

    RecordingStream second = register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    assertThat(second.last().getResponseCase()).isEqualTo(ResponseCase.NORMAL_TASK);
    assertThat(second.lastParents()).containsExactly("p1");
    assertThat(triggered).isEmpty();
  }

  @Test
  void oneSeedTriggerForManyPeersThenAllGetTheSeedPeer() {
    Host seedHost = host("seed", HostType.HOST_TYPE_SEED);
    RecordingStream p1 = register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    RecordingStream p2 = register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    RecordingStream p3 = register("p3", host("h3", HostType.HOST_TYPE_NORMAL));
    assertThat(triggered).containsExactly("seed/t");
    assertThat(p1.sent).isEmpty();

    RecordingStream seed = register("s", seedHost);
    assertThat(seed.last().getResponseCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p1.lastParents()).containsExactly("s");
    // later peers also get earlier ones, never the other way round
    assertThat(p2.lastParents()).contains("s", "p1");
    assertThat(p3.lastParents()).contains("s", "p1", "p2");
    scheduler.tick();
    assertThat(p1.lastParents()).doesNotContain("p2", "p3");
  }

  @Test
  void anOriginFailureAtTheSeedFailsTheWaitingPeersWithItsReason() {
    Host seedHost = host("seed", HostType.HOST_TYPE_SEED);
    RecordingStream p1 = register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    register("s", seedHost);
    scheduler.backToSourceStarted("t", "s");
    scheduler.peerFailed("t", "s", "origin returned HTTP 404", true);

    assertThat(p1.last().getResponseCase()).isEqualTo(ResponseCase.TASK_FAILED);
    assertThat(p1.last().getTaskFailed().getReason()).isEqualTo("origin returned HTTP 404");
    assertThat(p1.completed).isTrue();
    // the next attempt starts afresh with the seed peer
    register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    assertThat(triggered).containsExactly("seed/t", "seed/t");
  }

  @Test
  void anUnreachableSeedSendsAWaitingPeerToTheOrigin() {
    triggerResult = CompletableFuture.failedFuture(new RuntimeException("connection refused"));
    host("seed", HostType.HOST_TYPE_SEED);
    RecordingStream p1 = register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    assertThat(p1.last().getResponseCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void aParentThatLeavesIsReplacedOrTheChildGoesToTheOrigin() {
    RecordingStream p1 = register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    RecordingStream p2 = register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    RecordingStream p3 = register("p3", host("h3", HostType.HOST_TYPE_NORMAL));
    assertThat(p1.last().getResponseCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
    assertThat(p3.lastParents()).containsExactlyInAnyOrder("p1", "p2");

    scheduler.streamEnded("t", "p2");
    assertThat(p3.lastParents()).containsExactly("p1");

    scheduler.streamEnded("t", "p1"); // the only source left before finishing
    assertThat(p3.last().getResponseCase()).isEqualTo(ResponseCase.NEED_BACK_TO_SOURCE);
  }

  @Test
  void aCorruptParentIsBlockedForTheChild() {
    register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    scheduler.backToSourceStarted("t", "p1");
    register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    RecordingStream p3 = register("p3", host("h3", HostType.HOST_TYPE_NORMAL));
    assertThat(p3.lastParents()).contains("p2");
    scheduler.pieceFailed("t", "p3", "p2", true);
    assertThat(p3.lastParents()).containsExactly("p1");
    scheduler.tick();
    assertThat(p3.lastParents()).doesNotContain("p2");
  }

  @Test
  void aFinishedPeerStaysAParentAfterItsStreamCloses() {
    register("p1", host("h1", HostType.HOST_TYPE_NORMAL));
    scheduler.peerFinished("t", "p1", 100, 1);
    scheduler.streamEnded("t", "p1");
    RecordingStream p2 = register("p2", host("h2", HostType.HOST_TYPE_NORMAL));
    assertThat(p2.lastParents()).containsExactly("p1");
    assertThat(scheduler.stat("t")).hasValueSatisfying(stat -> assertThat(stat.getState()).isEqualTo("SUCCEEDED"));
  }
}
