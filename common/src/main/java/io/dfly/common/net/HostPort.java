package io.dfly.common.net;

/** A {@code host:port} address as given on command lines. */
public record HostPort(String host, int port) {

  public HostPort {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is out of range");
    }
  }

  public static HostPort parse(String spec) {
    int colon = spec.lastIndexOf(':');
    if (colon <= 0 || colon == spec.length() - 1) {
      throw new IllegalArgumentException("address '" + spec + "' is not of the form HOST:PORT");
    }
    String host = spec.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      return new HostPort(host, Integer.parseInt(spec.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("address '" + spec + "' has no numeric port", e);
    }
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
