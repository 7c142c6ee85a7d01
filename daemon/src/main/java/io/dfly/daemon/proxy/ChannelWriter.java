package io.dfly.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;

/**
 * Writes a response from a blocking (virtual) thread: each write waits until the one before it
 * reached the socket, so a slow client holds back the sender instead of filling the heap.
 */
final class ChannelWriter {
  private final Channel channel;
  private ChannelFuture last;

  ChannelWriter(Channel channel) {
    this.channel = channel;
  }

  void write(Object message) throws ClientGoneException {
    try {
      awaitLast();
    } catch (ClientGoneException e) {
      ReferenceCountUtil.release(message);
      throw e;
    }
    last = channel.writeAndFlush(message);
  }

  /** Waits until everything written so far reached the socket. */
  void finish() throws ClientGoneException {
    awaitLast();
  }

  /** Ends the connection at once: the client sees a response cut short, never a complete one. */
  void abort() {
    channel.close();
  }

  Channel channel() {
    return channel;
  }

  private void awaitLast() throws ClientGoneException {
    if (last != null) {
      last.awaitUninterruptibly();
      if (!last.isSuccess()) {
        throw new ClientGoneException(last.cause());
      }
    }
    if (!channel.isActive()) {
      throw new ClientGoneException(null);
    }
  }

  /** The client closed its connection; nothing more can be sent to it. */
  static final class ClientGoneException extends IOException {
    ClientGoneException(Throwable cause) {
      super("the client closed the connection", cause);
    }
  }
}
