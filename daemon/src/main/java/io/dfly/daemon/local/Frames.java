package io.dfly.daemon.local;

import java.io.IOException;
import java.nio.file.Path;

/** Where a local API call writes its answer: the frames of {@link LocalApi}. */
interface Frames {
  void progress(long completedLength, long contentLength) throws IOException;

  /** Content bytes from {@code file}; blocks while the reader is not ready for more. */
  void data(Path file, long position, long count) throws IOException, InterruptedException;

  void result(LocalApi.Form fields) throws IOException;

  void error(LocalApi.ErrorKind kind, String message) throws IOException;

  /** False once the caller has gone: nothing more is worth doing for it. */
  boolean isOpen();
}
