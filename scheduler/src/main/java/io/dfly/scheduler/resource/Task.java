package io.dfly.scheduler.resource;

import io.dfly.api.common.v1.Download;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/** A task and its peers. Every access holds the task's monitor. */
public final class Task {
  private final String id;
  private final Map<String, Peer> peers = new LinkedHashMap<>();
  private Download download;
  private long contentLength = -1;
  private int pieceCount = -1;
  /** Seed host asked to fetch this task, or null. */
  private String seedHostId;

  public Task(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public Download download() {
    return download;
  }

  public void setDownload(Download download) {
    this.download = download;
  }

  public Peer peer(String peerId) {
    return peers.get(peerId);
  }

  public void addPeer(Peer peer) {
    peers.put(peer.id(), peer);
  }

  public void removePeer(String peerId) {
    peers.remove(peerId);
  }

  public Collection<Peer> peers() {
    return peers.values();
  }

  public long contentLength() {
    return contentLength;
  }

  public int pieceCount() {
    return pieceCount;
  }

  public void setContent(long contentLength, int pieceCount) {
    this.contentLength = contentLength;
    this.pieceCount = pieceCount;
  }

  public String seedHostId() {
    return seedHostId;
  }

  public void setSeedHostId(String seedHostId) {
    this.seedHostId = seedHostId;
  }

  public long count(PeerState state) {
    return peers.values().stream().filter(p -> p.state() == state).count();
  }

  /** Summary state: succeeded once any peer has it all, running while any peer is active. */
  public String state() {
    if (peers.values().stream().anyMatch(p -> p.state() == PeerState.SUCCEEDED)) {
      return "SUCCEEDED";
    }
    if (peers.values().stream().anyMatch(p -> p.state().isActive())) {
      return "RUNNING";
    }
    return peers.isEmpty() ? "PENDING" : "FAILED";
  }
}
