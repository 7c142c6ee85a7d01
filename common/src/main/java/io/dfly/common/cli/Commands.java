package io.dfly.common.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;

/** Runs a picocli command with the project's conventions and exits with its code. */
public final class Commands {
  private Commands() {}

  public static void exit(Callable<Integer> command, String... args) {
    System.exit(run(command, args));
  }

  public static int run(Callable<Integer> command, String... args) {
    return withConventions(new CommandLine(command)).execute(args);
  }

  private static CommandLine withConventions(CommandLine cli) {
    return cli
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler((e, line, parsed) -> {
          // An expected failure (bad input, origin error) is one line; anything else a trace.
          if (e instanceof IllegalArgumentException || e instanceof UserError) {
            line.getErr().println(line.getCommandName() + ": " + e.getMessage());
          } else {
            e.printStackTrace(line.getErr());
          }
          return e instanceof UserError u ? u.exitCode() : e instanceof IllegalArgumentException ? 2 : 1;
        });
  }

  /** A failure to report as one line with a chosen exit code. */
  public static class UserError extends RuntimeException {
    private final int exitCode;

    public UserError(int exitCode, String message) {
      super(message);
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }
}
