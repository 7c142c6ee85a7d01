package io.dfly.quickstart;

import io.dfly.bench.SchedulerBench;
import io.dfly.common.cli.Commands;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "dragonfly", mixinStandardHelpOptions = true,
    description = "All-in-one tools of the P2P distribution system.",
    subcommands = {Quickstart.class, OriginCommand.class, SchedulerBench.class})
public final class DragonflyMain implements Callable<Integer> {

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.err);
    return 2;
  }

  public static void main(String[] args) {
    Commands.exit(new DragonflyMain(), args);
  }
}
