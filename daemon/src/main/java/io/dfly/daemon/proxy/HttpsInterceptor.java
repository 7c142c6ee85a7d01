package io.dfly.daemon.proxy;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * Decrypts CONNECT tunnels: the client gets a certificate for the host it asked for, signed by
 * a CA it trusts (one dfdaemon makes and keeps in its data directory, or one it is given), so
 * that blobs of https registries can be served through P2P too.
 */
final class HttpsInterceptor {
  private static final Duration CA_VALIDITY = Duration.ofDays(3650);
  private static final Duration LEAF_VALIDITY = Duration.ofDays(365);
  private static final String SIGNATURE = "SHA256withECDSA";

  private final X509Certificate ca;
  private final PrivateKey caKey;
  private final Path caCertificateFile;
  private final KeyPair leafKeys;
  private final ConcurrentHashMap<String, SslContext> contexts = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();

  private HttpsInterceptor(X509Certificate ca, PrivateKey caKey, Path caCertificateFile) throws GeneralSecurityException {
    this.ca = ca;
    this.caKey = caKey;
    this.caCertificateFile = caCertificateFile;
    this.leafKeys = ecKeyPair();
  }

  /** The configured CA, or the one kept in {@code dir} (made there on first use). */
  static HttpsInterceptor load(ProxyConfig.HttpsInterception config, Path dir) throws IOException {
    try {
      if (!config.caCert.isBlank() || !config.caKey.isBlank()) {
        if (config.caCert.isBlank() || config.caKey.isBlank()) {
          throw new IllegalArgumentException("proxy.https-interception: set both ca-cert and ca-key, or neither");
        }
        Path cert = Path.of(config.caCert);
        return new HttpsInterceptor(readCertificate(cert), readKey(Path.of(config.caKey)), cert);
      }
      Path cert = dir.resolve("ca.crt");
      Path key = dir.resolve("ca.key");
      if (!Files.exists(cert) || !Files.exists(key)) {
        makeCa(dir, cert, key);
      }
      return new HttpsInterceptor(readCertificate(cert), readKey(key), cert);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("proxy CA: " + e.getMessage(), e);
    }
  }

  Path caCertificate() {
    return caCertificateFile;
  }

  /** A TLS server handler presenting a certificate for {@code host}. */
  SslHandler serverHandler(ByteBufAllocator alloc, String host) {
    return contexts.computeIfAbsent(host, this::contextFor).newHandler(alloc);
  }

  private SslContext contextFor(String host) {
    try {
      return SslContextBuilder.forServer(leafKeys.getPrivate(), leafCertificate(host), ca).build();
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make a certificate for " + host + ": " + e.getMessage(), e);
    }
  }

  private X509Certificate leafCertificate(String host) throws GeneralSecurityException, OperatorCreationException,
      IOException {
    Instant now = Instant.now();
    boolean ip = host.chars().allMatch(c -> Character.isDigit(c) || c == '.') || host.contains(":");
    GeneralName name = ip ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(host).getHostAddress())
        : new GeneralName(GeneralName.dNSName, host);
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca,
        new BigInteger(64, random), Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(LEAF_VALIDITY)),
        new X500Name("CN=" + host.replace(",", "")), leafKeys.getPublic());
    builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(name));
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    return sign(builder, caKey);
  }

  private static void makeCa(Path dir, Path cert, Path key) throws IOException, GeneralSecurityException,
      OperatorCreationException {
    KeyPair keys = ecKeyPair();
    Instant now = Instant.now();
    X500Name name = new X500Name("CN=dfdaemon proxy CA " + now.getEpochSecond());
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(CA_VALIDITY)), name, keys.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    Files.createDirectories(dir);
    Path keyTmp = dir.resolve("ca.key.tmp");
    Files.deleteIfExists(keyTmp);
    Files.createFile(keyTmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    writePem(keyTmp, new JcaPKCS8Generator(keys.getPrivate(), null)); // PKCS#8: what openssl and Go read too
    Path certTmp = dir.resolve("ca.crt.tmp");
    writePem(certTmp, sign(builder, keys.getPrivate()));
    Files.move(keyTmp, key, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    Files.move(certTmp, cert, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder builder, PrivateKey key)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
  }

  private static KeyPair ecKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    return generator.generateKeyPair();
  }

  private static void writePem(Path file, Object object) throws IOException {
    try (Writer out = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(object);
    }
  }

  private static X509Certificate readCertificate(Path file) throws IOException, GeneralSecurityException {
    try (Reader in = Files.newBufferedReader(file); PEMParser pem = new PEMParser(in)) {
      if (pem.readObject() instanceof X509CertificateHolder holder) {
        return new JcaX509CertificateConverter().getCertificate(holder);
      }
      throw new IllegalArgumentException(file + " holds no PEM certificate");
    }
  }

  private static PrivateKey readKey(Path file) throws IOException {
    try (Reader in = Files.newBufferedReader(file); PEMParser pem = new PEMParser(in)) {
      Object object = pem.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (object instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      if (object instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      throw new IllegalArgumentException(file + " holds no PEM private key");
    }
  }
}
