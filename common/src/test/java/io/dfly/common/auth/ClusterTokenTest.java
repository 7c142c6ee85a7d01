package io.dfly.common.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterTokenTest {
  /** A one-method service over real gRPC: echoes a string. */
  private static final MethodDescriptor<String, String> ECHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("test.Echo/Echo")
      .setRequestMarshaller(new Utf8())
      .setResponseMarshaller(new Utf8())
      .build();

  private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static String call(int port, ClusterToken clientToken) throws InterruptedException {
    ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .intercept(clientToken.clientInterceptor()).build();
    try {
      return ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "hi");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aServerWithATokenAnswersOnlyCallersThatCarryIt() throws Exception {
    ClusterToken token = ClusterToken.of("s3cret", null);
    ServerServiceDefinition echo = ServerServiceDefinition.builder("test.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext("echo " + request);
          responses.onCompleted();
        }))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(echo, token.serverInterceptor())).build().start();
    try {
      assertThat(call(server.getPort(), token)).isEqualTo("echo hi");
      assertThatThrownBy(() -> call(server.getPort(), ClusterToken.of(null, null)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
      assertThatThrownBy(() -> call(server.getPort(), ClusterToken.of("guess", null)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void theTokenComesInlineOrFromAFileAndNoneAcceptsEverything(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("token"), "  from-file\n");
    assertThat(ClusterToken.of(null, file.toString()).accepts("Bearer from-file")).isTrue();
    assertThat(ClusterToken.of("inline", file.toString()).accepts("Bearer inline")).isTrue();
    assertThat(ClusterToken.of("inline", null).accepts("Bearer other")).isFalse();
    assertThat(ClusterToken.of("inline", null).accepts(null)).isFalse();
    assertThat(ClusterToken.of(null, null).accepts(null)).isTrue();
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertThatThrownBy(() -> ClusterToken.of(null, empty.toString())).hasMessageContaining("empty");
    assertThatThrownBy(() -> ClusterToken.of(null, dir.resolve("missing").toString()))
        .hasMessageContaining("cannot read");
  }

  @Test
  void onlyLoopbackServesWithoutAToken() {
    ClusterToken.requireFor("127.0.0.1", ClusterToken.of(null, null), "x");
    ClusterToken.requireFor("10.1.2.3", ClusterToken.of("t", null), "x");
    assertThatThrownBy(() -> ClusterToken.requireFor("10.1.2.3", ClusterToken.of(null, null), "dfdaemon"))
        .hasMessageContaining("dfdaemon listens on 10.1.2.3").hasMessageContaining("cluster-token-file");
    assertThatThrownBy(() -> ClusterToken.requireFor("0.0.0.0", ClusterToken.of(null, null), "scheduler"))
        .hasMessageContaining("scheduler");
  }
}
