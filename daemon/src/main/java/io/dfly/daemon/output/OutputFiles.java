package io.dfly.daemon.output;

import io.dfly.common.digest.ContentDigest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Puts a downloaded file at its output path atomically: the bytes go to a temporary file in the
 * same directory, are checked against the expected digest, and only then renamed into place.
 * On any failure the temporary file is removed and the output path is left as it was.
 */
public final class OutputFiles {
  private static final int BUFFER = 1 << 20;
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private OutputFiles() {}

  /** Copies a finished task's data file to {@code output}. */
  public static void publish(Path data, Path output, ContentDigest expected) throws IOException {
    publish(output, expected, (out, hasher) -> {
      try (FileChannel in = FileChannel.open(data, StandardOpenOption.READ)) {
        if (hasher == null) {
          long size = in.size();
          for (long done = 0; done < size; ) {
            done += in.transferTo(done, size - done, out);
          }
          return;
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        while (in.read(buffer) >= 0) {
          buffer.flip();
          hasher.update(buffer.duplicate());
          while (buffer.hasRemaining()) {
            out.write(buffer);
          }
          buffer.clear();
        }
      }
    });
  }

  /**
   * Writes a stream holding the whole content to {@code output}; {@code expectedLength} (-1 when
   * unknown) is checked before the file is put in place.
   */
  public static long publish(InputStream in, long expectedLength, Path output, ContentDigest expected)
      throws IOException {
    long[] total = {0};
    publish(output, expected, (out, hasher) -> {
      byte[] bytes = new byte[BUFFER];
      int n;
      while ((n = in.read(bytes)) >= 0) {
        if (hasher != null) {
          hasher.update(bytes, 0, n);
        }
        ByteBuffer chunk = ByteBuffer.wrap(bytes, 0, n);
        while (chunk.hasRemaining()) {
          out.write(chunk);
        }
        total[0] += n;
      }
      if (expectedLength >= 0 && total[0] != expectedLength) {
        throw new BadContentException("origin sent " + total[0] + " of " + expectedLength + " bytes");
      }
    });
    return total[0];
  }

  private interface Writer {
    void write(FileChannel out, ContentDigest.Hasher hasher) throws IOException;
  }

  private static void publish(Path output, ContentDigest expected, Writer writer) throws IOException {
    Path target = output.toAbsolutePath();
    if (Files.isDirectory(target)) {
      throw new IOException(target + " is a directory");
    }
    Path dir = target.getParent();
    Files.createDirectories(dir);
    // Not Files.createTempFile: its 0600 mode would stick to the output; CREATE_NEW honours the umask.
    Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".dfget-tmp");
    boolean moved = false;
    try {
      ContentDigest.Hasher hasher = expected == null ? null : expected.algorithm().newHasher();
      try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
        writer.write(out, hasher);
        out.force(false);
      }
      if (hasher != null) {
        String actual = hasher.hex();
        if (!actual.equals(expected.hex())) {
          throw new BadContentException("digest mismatch: expected " + expected + ", got "
              + new ContentDigest(expected.algorithm(), actual));
        }
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      moved = true;
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /** The content is not what the caller expected: wrong digest or length. */
  public static final class BadContentException extends IOException {
    public BadContentException(String message) {
      super(message);
    }
  }
}
