package io.dfly.daemon.upload;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Super-seeding for a seed peer: until every piece of a task has left the seed once, each child
 * is offered only a few pieces that no other child was offered, and a fresh one each time one of
 * its pieces has been uploaded. The seed's uplink then carries every piece about once, and the
 * children get the rest from each other, instead of the seed sending the popular early pieces
 * to everyone while the late ones wait. Once every piece has been uploaded once, or the seed
 * has the whole task and has offered every piece, everything is offered to all, so a child
 * that is slow to fetch its last pieces cannot hold the others up.
 *
 * <p>A child may get a piece it was offered from another parent instead (a peer that has the
 * whole task, or one fetching from the origin), which the seed does not see: such a piece
 * stops counting against the child's share once it has waited {@link #OFFER_TTL_NANOS}
 * without being uploaded, so the child is offered fresh ones. Otherwise a child that got all of
 * its offered pieces elsewhere would never be offered another, the pieces nobody was offered
 * would never leave the seed, and when that other parent went away every child would wait for
 * them (a parent host that went silent did just that in NetlabFaultsTest).
 */
public final class SeedHandout {
  /**
   * Pieces offered to all children together and not yet uploaded: enough to keep the seed's
   * uplink busy; each child gets a share, at least {@link #MIN_AHEAD}.
   */
  static final int AHEAD = 8;
  static final int MIN_AHEAD = 2;
  /**
   * How long an offered piece counts against its child's share while the seed has not uploaded
   * it: far longer than a piece takes to leave the seed when the child fetches it (1 MiB pieces
   * take well under a second on 50-100 Mbit/s links), short next to the piece timeout.
   */
  static final long OFFER_TTL_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final Map<String, TaskHandout> tasks = new ConcurrentHashMap<>();
  private final LongSupplier clock;

  public SeedHandout() {
    this(System::nanoTime);
  }

  /** @param clock nanoseconds, as {@link System#nanoTime} */
  SeedHandout(LongSupplier clock) {
    this.clock = clock;
  }

  /** Records an upload of {@code [first, first + length)} of a task. */
  public void uploaded(String taskId, long first, long length) {
    TaskHandout task = tasks.get(taskId);
    if (task != null) {
      task.uploaded(first, length);
    }
  }

  public TaskHandout task(String taskId, long pieceLength, int pieceCount) {
    return tasks.computeIfAbsent(taskId, id -> new TaskHandout(pieceLength, pieceCount, clock));
  }

  public void forget(String taskId) {
    tasks.remove(taskId);
  }

  /** The handout of one task. */
  public static final class TaskHandout {
    private final long pieceLength;
    private final int pieceCount;
    private final BitSet offered = new BitSet();
    private final BitSet uploaded = new BitSet();
    private final Map<String, BitSet> byChild = new HashMap<>();
    /** When each piece was last offered (System.nanoTime), by piece number; read only for offered ones. */
    private final long[] offeredAt;
    private final LongSupplier clock;
    private long version;
    private boolean open;

    TaskHandout(long pieceLength, int pieceCount, LongSupplier clock) {
      this.pieceLength = pieceLength;
      this.pieceCount = pieceCount;
      this.clock = clock;
      this.offeredAt = new long[Math.max(0, pieceCount)];
    }

    /** True once everything goes to everyone, for good. */
    private boolean isOpen(boolean seedComplete) {
      open |= uploaded.cardinality() >= pieceCount || seedComplete && offered.cardinality() >= pieceCount;
      return open;
    }

    /**
     * The pieces {@code child} may fetch from the seed now, out of those the seed has
     * ({@code finished}): the ones offered to it before, topped up to its share of
     * {@link #AHEAD} not yet uploaded (nor offered longer than {@link #OFFER_TTL_NANOS} ago) with pieces
     * nobody was offered. All of {@code finished} once the task is open.
     */
    public synchronized BitSet offer(String child, BitSet finished, boolean seedComplete) {
      if (isOpen(seedComplete)) {
        return (BitSet) finished.clone();
      }
      long now = clock.getAsLong();
      BitSet mine = byChild.computeIfAbsent(child, c -> new BitSet());
      BitSet waiting = (BitSet) mine.clone();
      waiting.andNot(uploaded);
      for (int piece = waiting.nextSetBit(0); piece >= 0; piece = waiting.nextSetBit(piece + 1)) {
        if (now - offeredAt[piece] >= OFFER_TTL_NANOS) {
          waiting.clear(piece); // most likely fetched from another parent
        }
      }
      int ahead = Math.max(MIN_AHEAD, AHEAD / byChild.size());
      for (int piece = finished.nextSetBit(0); piece >= 0 && waiting.cardinality() < ahead;
           piece = finished.nextSetBit(piece + 1)) {
        if (!offered.get(piece)) {
          offered.set(piece);
          offeredAt[piece] = now;
          mine.set(piece);
          waiting.set(piece);
        }
      }
      BitSet offer = (BitSet) mine.clone();
      offer.and(finished);
      return offer;
    }

    /**
     * A child went away: the pieces it was offered and never fetched can go to others. True when
     * the handout is over: open, and no child left.
     */
    public synchronized boolean leave(String child) {
      BitSet mine = byChild.remove(child);
      if (mine != null && !open) {
        BitSet unfetched = (BitSet) mine.clone();
        unfetched.andNot(uploaded);
        offered.andNot(unfetched);
        version++;
        notifyAll();
      }
      return open && byChild.isEmpty();
    }

    synchronized void uploaded(long first, long length) {
      if (pieceLength <= 0 || first % pieceLength != 0) {
        return;
      }
      int piece = (int) (first / pieceLength);
      boolean whole = length == pieceLength || piece == pieceCount - 1;
      if (whole && !uploaded.get(piece)) {
        uploaded.set(piece);
        open |= uploaded.cardinality() >= pieceCount;
        version++;
        notifyAll();
      }
    }

    /** Waits up to {@code millis} for an upload or a leave after {@code seen}; returns the version now. */
    public synchronized long awaitChange(long seen, long millis) throws InterruptedException {
      if (version == seen) {
        wait(millis);
      }
      return version;
    }

    public synchronized long version() {
      return version;
    }
  }
}
