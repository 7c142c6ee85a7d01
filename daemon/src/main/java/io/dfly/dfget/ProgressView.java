package io.dfly.dfget;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
final class ProgressView implements AutoCloseable {
  private final String name;
  private ProgressBar bar;

  private ProgressView(String name) {
    this.name = name;
  }

  static ProgressView create(boolean wanted, String name) {
    return new ProgressView(wanted && onTerminal() ? name : null);
  }

  /** Java 22+ returns a console even when redirected and says so with isTerminal(). */
  private static boolean onTerminal() {
    java.io.Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
    } catch (ReflectiveOperationException e) {
      return true; // Java 21: a console exists only on a terminal
    }
  }

  void update(long completed, long total) {
    if (name == null) {
      return;
    }
    if (bar == null) {
      bar = new ProgressBarBuilder().setTaskName(name).setInitialMax(Math.max(total, 0))
          .setStyle(ProgressBarStyle.ASCII).setUnit("MiB", 1 << 20).showSpeed().continuousUpdate()
          .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build();
    }
    if (total > 0) {
      bar.maxHint(total);
    }
    bar.stepTo(completed);
  }

  void done(long total) {
    update(total, total);
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
    }
  }
}
