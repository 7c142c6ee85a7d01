package io.dfly.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * Writes a response from a blocking (virtual) thread. A few writes may be in flight at once;
 * beyond that each write waits for the oldest to reach the socket, so a slow client holds back
 * the sender instead of filling the heap.
 */
final class ChannelWriter {
  private static final int IN_FLIGHT = 4;

  private final Channel channel;
  private final ArrayDeque<ChannelFuture> pending = new ArrayDeque<>();

  ChannelWriter(Channel channel) {
    this.channel = channel;
  }

  void write(Object message) throws ClientGoneException {
    try {
      while (pending.size() >= IN_FLIGHT) {
        await(pending.poll());
      }
      if (!channel.isActive()) {
        throw new ClientGoneException(null);
      }
    } catch (ClientGoneException e) {
      ReferenceCountUtil.release(message);
      throw e;
    }
    pending.add(channel.writeAndFlush(message));
  }

  /** Waits until everything written so far reached the socket. */
  void finish() throws ClientGoneException {
    while (!pending.isEmpty()) {
      await(pending.poll());
    }
  }

  /** Ends the connection at once: the client sees a response cut short, never a complete one. */
  void abort() {
    channel.close();
  }

  Channel channel() {
    return channel;
  }

  private static void await(ChannelFuture write) throws ClientGoneException {
    write.awaitUninterruptibly();
    if (!write.isSuccess()) {
      throw new ClientGoneException(write.cause());
    }
  }

  /** The client closed its connection; nothing more can be sent to it. */
  static final class ClientGoneException extends IOException {
    ClientGoneException(Throwable cause) {
      super("the client closed the connection", cause);
    }
  }
}
