package io.dfly.daemon.output;

import io.dfly.common.digest.ContentDigest;
import io.dfly.common.net.ByteRange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Puts a downloaded file at its output path atomically: the bytes are checked against the
 * expected digest first, then land under a temporary name in the same directory (a hard link
 * to the piece store's file when both are on one filesystem, so a cache hit costs no copy;
 * a copy otherwise), and only then are renamed into place. On any failure the temporary file is
 * removed and the output path is left as it was. An existing non-regular output such as
 * {@code /dev/null} or a pipe is written in place: renaming over it would replace the device.
 */
public final class OutputFiles {
  private static final int BUFFER = 1 << 20;
  private static final SecureRandom RANDOM = new SecureRandom();

  private OutputFiles() {}

  /** Publishes a finished task's data file, or the given range of it, at {@code output}. */
  public static void publish(Path data, ByteRange range, Path output, ContentDigest expected) throws IOException {
    Path target = checkTarget(output);
    try (FileChannel in = FileChannel.open(data, StandardOpenOption.READ)) {
      long first = range == null ? 0 : range.first();
      long length = range == null ? in.size() : range.length();
      if (expected != null) {
        verify(in, first, length, expected);
      }
      if (isSpecial(target)) {
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.WRITE)) {
          transfer(in, first, length, out);
        }
        return;
      }
      Path tmp = tempFor(target);
      boolean moved = false;
      try {
        if (range != null || !link(data, tmp)) {
          try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            transfer(in, first, length, out);
            out.force(false);
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
  }

  /**
   * Writes a channel holding the whole content to {@code output}; {@code expectedLength} (-1
   * when unknown) and the digest are checked before the file is put in place.
   */
  public static long publish(ReadableByteChannel in, long expectedLength, Path output, ContentDigest expected)
      throws IOException {
    Path target = checkTarget(output);
    ContentDigest.Hasher hasher = expected == null ? null : expected.algorithm().newHasher();
    boolean special = isSpecial(target);
    Path tmp = special ? target : tempFor(target);
    boolean moved = false;
    try {
      long total = 0;
      try (FileChannel out = special ? FileChannel.open(target, StandardOpenOption.WRITE)
          : FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        while (in.read(buffer) >= 0) {
          buffer.flip();
          if (hasher != null) {
            hasher.update(buffer.duplicate());
          }
          total += buffer.remaining();
          while (buffer.hasRemaining()) {
            out.write(buffer);
          }
          buffer.clear();
        }
        if (!special) {
          out.force(false);
        }
      }
      if (expectedLength >= 0 && total != expectedLength) {
        throw new BadContentException("origin sent " + total + " of " + expectedLength + " bytes");
      }
      if (hasher != null) {
        checkDigest(expected, hasher);
      }
      if (!special) {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      moved = true;
      return total;
    } finally {
      if (!moved && !special) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private static Path checkTarget(Path output) throws IOException {
    Path target = output.toAbsolutePath();
    if (Files.isDirectory(target)) {
      throw new IOException(target + " is a directory");
    }
    if (!isSpecial(target)) {
      Files.createDirectories(target.getParent());
    }
    return target;
  }

  /** An existing output that is neither a regular file nor a directory: a device or a pipe. */
  private static boolean isSpecial(Path target) {
    return Files.exists(target) && !Files.isRegularFile(target) && !Files.isDirectory(target)
        && !Files.isSymbolicLink(target);
  }

  /** Not Files.createTempFile: its 0600 mode would stick to the output; CREATE_NEW honours the umask. */
  private static Path tempFor(Path target) {
    return target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong())
        + ".dfget-tmp");
  }

  /** Hard-links {@code data} as {@code tmp}; false when the filesystem cannot (another device, no links). */
  private static boolean link(Path data, Path tmp) {
    try {
      Files.createLink(tmp, data.toRealPath(LinkOption.NOFOLLOW_LINKS));
      return true;
    } catch (FileSystemException | UnsupportedOperationException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  private static void verify(FileChannel in, long first, long length, ContentDigest expected) throws IOException {
    ContentDigest.Hasher hasher = expected.algorithm().newHasher();
    ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
    for (long done = 0; done < length; ) {
      buffer.clear().limit((int) Math.min(BUFFER, length - done));
      int n = in.read(buffer, first + done);
      if (n < 0) {
        throw new BadContentException("content ended after " + done + " of " + length + " bytes");
      }
      buffer.flip();
      hasher.update(buffer);
      done += n;
    }
    checkDigest(expected, hasher);
  }

  private static void checkDigest(ContentDigest expected, ContentDigest.Hasher hasher) throws BadContentException {
    String actual = hasher.hex();
    if (!actual.equals(expected.hex())) {
      throw new BadContentException("digest mismatch: expected " + expected + ", got "
          + new ContentDigest(expected.algorithm(), actual));
    }
  }

  private static void transfer(FileChannel in, long first, long length, FileChannel out) throws IOException {
    for (long done = 0; done < length; ) {
      long n = in.transferTo(first + done, length - done, out);
      if (n <= 0) {
        throw new IOException("short copy: " + done + " of " + length + " bytes");
      }
      done += n;
    }
  }

  /** The content is not what the caller expected: wrong digest or length. */
  public static final class BadContentException extends IOException {
    public BadContentException(String message) {
      super(message);
    }
  }
}
