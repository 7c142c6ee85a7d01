package io.dfly.common.cli;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a long-running component alive until SIGTERM or SIGINT, then closes it once. The JVM
 * runs shutdown hooks on both signals, so closing there gives a clean shutdown.
 */
public final class Service {
  private static final Logger log = LoggerFactory.getLogger(Service.class);

  private Service() {}

  public static int runUntilStopped(String name, AutoCloseable component) throws InterruptedException {
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("{} shutting down", name);
      try {
        component.close();
      } catch (Exception e) {
        log.warn("{} did not shut down cleanly", name, e);
      } finally {
        closed.countDown();
      }
    }, name + "-shutdown"));
    closed.await();
    return 0;
  }
}
