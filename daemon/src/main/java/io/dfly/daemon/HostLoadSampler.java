package io.dfly.daemon;

import io.dfly.api.common.v1.HostLoad;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Samples what the schedulers weigh when they hand this host children: upload slots in use, the
 * upload rate since the previous sample against the current limit, CPU and memory use.
 */
final class HostLoadSampler {
  private static final Path MEMINFO = Path.of("/proc/meminfo");

  private final IntSupplier activeUploads;
  private final LongSupplier uploadedBytes;
  private final LongSupplier uploadRateLimit;
  private final LongSupplier clock;
  private long lastUploaded; // guarded by this
  private long lastSampleNanos; // guarded by this

  /**
   * @param uploadRateLimit bytes per second the host allows now, 0 when unlimited
   * @param clock nanoseconds, like {@link System#nanoTime}
   */
  HostLoadSampler(IntSupplier activeUploads, LongSupplier uploadedBytes, LongSupplier uploadRateLimit,
      LongSupplier clock) {
    this.activeUploads = activeUploads;
    this.uploadedBytes = uploadedBytes;
    this.uploadRateLimit = uploadRateLimit;
    this.clock = clock;
    this.lastUploaded = uploadedBytes.getAsLong();
    this.lastSampleNanos = clock.getAsLong();
  }

  synchronized HostLoad sample() {
    long now = clock.getAsLong();
    long uploaded = uploadedBytes.getAsLong();
    long elapsed = now - lastSampleNanos;
    long rate = elapsed <= 0 ? 0 : (long) ((uploaded - lastUploaded) * 1e9 / elapsed);
    lastUploaded = uploaded;
    lastSampleNanos = now;
    return HostLoad.newBuilder()
        .setUploadSlotsInUse(activeUploads.getAsInt())
        .setUploadBytesPerSecond(rate)
        .setUploadRateLimit(uploadRateLimit.getAsLong())
        .setCpuUsage(cpuUsage())
        .setMemoryUsage(memoryUsage())
        .build();
  }

  private static double cpuUsage() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.max(0, os.getCpuLoad()); // negative when not known yet
    }
    return 0;
  }

  /** Memory in use without the page cache (MemAvailable), which a piece store fills on purpose. */
  static double memoryUsage() {
    try {
      long total = 0;
      long available = -1;
      for (String line : Files.readAllLines(MEMINFO)) {
        if (line.startsWith("MemTotal:")) {
          total = kibibytes(line);
        } else if (line.startsWith("MemAvailable:")) {
          available = kibibytes(line);
        }
      }
      if (total > 0 && available >= 0) {
        return Math.min(1, Math.max(0, (total - available) / (double) total));
      }
    } catch (IOException | RuntimeException notLinux) {
      // fall through to what the JVM can tell
    }
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        && os.getTotalMemorySize() > 0) {
      return (os.getTotalMemorySize() - os.getFreeMemorySize()) / (double) os.getTotalMemorySize();
    }
    return 0;
  }

  private static long kibibytes(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }
}
