package io.dfly.scheduler.resource;

import com.google.protobuf.ByteString;
import io.dfly.api.common.v1.Download;
import io.dfly.api.common.v1.Piece;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A task and its peers. Every access holds the task's monitor. */
public final class Task {
  /** Content up to this size travels in the scheduler's answer itself. */
  public static final int TINY_LIMIT = 128;

  private final String id;
  private final Map<String, Peer> peers = new LinkedHashMap<>();
  /** The same peers in an array, for picking random candidates in O(1). */
  private final List<Peer> peerList = new ArrayList<>();
  /** Peers on seed hosts: always looked at as parents. */
  private final List<Peer> seedPeers = new ArrayList<>(1);
  private Download download;
  private long contentLength = -1;
  private int pieceCount = -1;
  private ByteString tinyContent;
  private Piece firstPiece;
  /** Seed host asked to fetch this task, or null. */
  private String seedHostId;
  /** Seed hosts that failed this task, so another seed (or the origin) is tried next. */
  private final Set<String> failedSeeds = new HashSet<>();
  /** Peers that may not serve anyone in this task, with the reason. */
  private final Map<String, String> blockedParents = new HashMap<>();
  private long marks;
  /** How many peers of the task hold each piece, and 1 / that (kept so the evaluator only adds). */
  private int[] holders = new int[64];
  private double[] rarity = new double[64];

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

  /** Files imported with dfcache exist only on the peers that have them: no seed peer can fetch one. */
  public boolean isImported() {
    return download != null && download.getUrl().startsWith("cid://");
  }

  /** A fresh mark for one decision's bookkeeping on peers ({@link Peer#markCandidate}). */
  public long nextMark() {
    return ++marks;
  }

  public Peer peer(String peerId) {
    return peers.get(peerId);
  }

  public void addPeer(Peer peer) {
    Peer old = peers.put(peer.id(), peer);
    if (old != null) {
      removeFromList(old);
    }
    peer.index = peerList.size();
    peer.task = this;
    peerList.add(peer);
    if (peer.isSeed()) {
      seedPeers.add(peer);
    }
  }

  public void removePeer(Peer peer) {
    if (peers.remove(peer.id(), peer)) {
      removeFromList(peer);
    }
  }

  private void removeFromList(Peer peer) {
    peer.pieces().forEach(piece -> setHolders(piece, holders[piece] - 1));
    if (peer.isSeed()) {
      seedPeers.remove(peer);
    }
    Peer last = peerList.removeLast();
    if (last != peer) {
      peerList.set(peer.index, last);
      last.index = peer.index;
    }
    peer.index = -1;
  }

  /** Records that a peer of the task holds a piece; false when it did already. */
  public boolean addPiece(Peer peer, int piece) {
    if (!peer.pieces().add(piece)) {
      return false;
    }
    if (piece >= holders.length) {
      int length = Math.max(holders.length * 2, piece + 1);
      holders = java.util.Arrays.copyOf(holders, length);
      rarity = java.util.Arrays.copyOf(rarity, length);
    }
    setHolders(piece, holders[piece] + 1);
    return true;
  }

  private void setHolders(int piece, int count) {
    holders[piece] = count;
    rarity[piece] = count > 0 ? 1.0 / count : 0;
  }

  /** 1 / peers holding each piece, by piece number, for every piece any peer of the task holds. */
  public double[] rarity() {
    return rarity;
  }

  public Collection<Peer> peers() {
    return peers.values();
  }

  public List<Peer> seedPeers() {
    return seedPeers;
  }

  public int peerCount() {
    return peerList.size();
  }

  /** The peer at a position of the peer list, 0 to {@link #peerCount()} - 1, in no meaningful order. */
  public Peer peerAt(int position) {
    return peerList.get(position);
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

  /** The content of a tiny task, once a peer that finished it sent it; null otherwise. */
  public ByteString tinyContent() {
    return tinyContent;
  }

  public void setTinyContent(ByteString content) {
    this.tinyContent = content;
  }

  /** Piece 0 as a peer reported it (its digest checks a tiny task's content), or null. */
  public Piece firstPiece() {
    return firstPiece;
  }

  public void setFirstPiece(Piece piece) {
    this.firstPiece = piece;
  }

  public String seedHostId() {
    return seedHostId;
  }

  public void setSeedHostId(String seedHostId) {
    this.seedHostId = seedHostId;
  }

  public Set<String> failedSeeds() {
    return failedSeeds;
  }

  public boolean isBlocked(String peerId) {
    return !blockedParents.isEmpty() && blockedParents.containsKey(peerId);
  }

  /** Blocks a peer from serving in this task; false when it was blocked already. */
  public boolean block(String peerId, String reason) {
    return blockedParents.putIfAbsent(peerId, reason) == null;
  }

  public long count(PeerState state) {
    long count = 0;
    for (Peer peer : peerList) {
      if (peer.state() == state) {
        count++;
      }
    }
    return count;
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
