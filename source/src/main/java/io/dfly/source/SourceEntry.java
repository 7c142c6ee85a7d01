package io.dfly.source;

import java.net.URI;

/**
 * One file found by {@link SourceClient#list}.
 *
 * @param url where to fetch it, with the same scheme as the listed URL
 * @param relativePath its path below the listed URL, '/'-separated, never starting with '/'
 *     and never holding '..' segments
 * @param length its size in bytes, -1 when the listing does not tell
 */
public record SourceEntry(URI url, String relativePath, long length) {}
