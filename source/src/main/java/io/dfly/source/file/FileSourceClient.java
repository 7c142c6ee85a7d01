package io.dfly.source.file;

import io.dfly.common.net.ByteRange;
import io.dfly.source.SourceClient;
import io.dfly.source.SourceEntry;
import io.dfly.source.SourceException;
import io.dfly.source.SourceRequest;
import io.dfly.source.SourceResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * file:// URLs: files on a filesystem every daemon mounts at the same path (NFS, SMB, a NAS),
 * so that one peer reads it and the others fetch pieces from peers instead of the filer.
 */
public final class FileSourceClient implements SourceClient {

  @Override
  public Set<String> schemes() {
    return Set.of("file");
  }

  @Override
  public SourceResponse open(SourceRequest request) throws SourceException {
    Path path = path(request.url());
    BasicFileAttributes attributes = attributes(path, request.url());
    if (attributes.isDirectory()) {
      throw new SourceException(request.url() + " is a directory; fetch it recursively", 400);
    }
    if (!attributes.isRegularFile()) {
      throw new SourceException(request.url() + " is not a regular file", 400);
    }
    long size = attributes.size();
    long first = 0;
    long last = size - 1;
    ByteRange range = request.range();
    if (range != null) {
      if (range.first() >= size || range.first() > range.last()) {
        throw new SourceException("range " + range.header() + " is outside " + request.url()
            + " (" + size + " bytes)", 416);
      }
      first = range.first();
      last = Math.min(range.last(), size - 1);
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
      channel.position(first);
    } catch (IOException e) {
      throw failure(e, request.url());
    }
    return new SourceResponse(size, range != null, new BoundedChannel(channel, last - first + 1));
  }

  @Override
  public List<SourceEntry> list(SourceRequest request) throws SourceException {
    Path root = path(request.url());
    if (!attributes(root, request.url()).isDirectory()) {
      throw new SourceException(request.url() + " is not a directory", 400);
    }
    List<SourceEntry> entries = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path file : (Iterable<Path>) walk::iterator) {
        if (!Files.isRegularFile(file)) { // symlinks to files count; directories and devices do not
          continue;
        }
        String relative = root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
        if (!SourceEntry.isSafeRelativePath(relative)) {
          throw new SourceException("file name '" + relative + "' below " + request.url()
              + " cannot be saved safely", 400);
        }
        entries.add(new SourceEntry(file.toUri(), relative, Files.size(file)));
      }
    } catch (UncheckedIOException e) {
      throw failure(e.getCause(), request.url());
    } catch (IOException e) {
      throw failure(e, request.url());
    }
    entries.sort(Comparator.comparing(SourceEntry::relativePath));
    return entries;
  }

  private static Path path(URI url) throws SourceException {
    String host = url.getHost();
    if (host != null && !host.isEmpty() && !host.equalsIgnoreCase("localhost")) {
      throw new SourceException("file URL " + url + " names host '" + host
          + "'; use file:///path on a filesystem mounted on every peer", 400);
    }
    if (url.getPath() == null || !url.getPath().startsWith("/")) {
      throw new SourceException("file URL " + url + " needs an absolute path (file:///path)", 400);
    }
    return Path.of(url.getPath());
  }

  private static BasicFileAttributes attributes(Path path, URI url) throws SourceException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class);
    } catch (IOException e) {
      throw failure(e, url);
    }
  }

  private static SourceException failure(IOException e, URI url) {
    // while listing, the failing path may be one below the URL's
    String path = e instanceof FileSystemException fse && fse.getFile() != null ? fse.getFile() : url.getPath();
    if (e instanceof NoSuchFileException || e instanceof NotDirectoryException) {
      return new SourceException("file " + path + " not found", 404);
    }
    if (e instanceof AccessDeniedException) {
      return new SourceException("file " + path + " is not readable: permission denied", 403);
    }
    String reason = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
    return new SourceException("reading " + path + " failed: " + (reason == null ? e.getClass().getSimpleName() : reason), e);
  }

  /** A file channel that ends after {@code remaining} bytes: the end of the range. */
  private static final class BoundedChannel implements ReadableByteChannel {
    private final FileChannel file;
    private long remaining;

    BoundedChannel(FileChannel file, long remaining) {
      this.file = file;
      this.remaining = remaining;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int limit = dst.limit();
      if (dst.remaining() > remaining) {
        dst.limit(dst.position() + (int) remaining);
      }
      try {
        int n = file.read(dst);
        if (n > 0) {
          remaining -= n;
        }
        return n;
      } finally {
        dst.limit(limit);
      }
    }

    @Override
    public boolean isOpen() {
      return file.isOpen();
    }

    @Override
    public void close() throws IOException {
      file.close();
    }
  }
}
