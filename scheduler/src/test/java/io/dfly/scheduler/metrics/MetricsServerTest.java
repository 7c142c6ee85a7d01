package io.dfly.scheduler.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

  @Test
  void servesTheSchedulersMetricsInThePrometheusFormatOnLoopback() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    SchedulerMetrics metrics = new SchedulerMetrics(registry);
    metrics.parentBlocked("corrupt");
    metrics.hostPenalised();
    metrics.backToSource("rounds");
    metrics.decision("parents", 250_000);
    metrics.decision("parents", 150_000);
    try (MetricsServer server = new MetricsServer(0, registry);
        HttpClient client = HttpClient.newHttpClient()) {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body())
          .contains("dfly_scheduler_parents_blocked_total{reason=\"corrupt\"} 1.0")
          .contains("dfly_scheduler_host_penalties_total 1.0")
          .contains("dfly_scheduler_back_to_source_total{reason=\"rounds\"} 1.0")
          .contains("dfly_scheduler_decisions_total{outcome=\"parents\"} 2.0")
          .contains("dfly_scheduler_decision_latency_seconds_count 2")
          .contains("dfly_scheduler_decision_latency_seconds_bucket{le=");

      // Not reachable on the machine's other addresses.
      InetAddress other = InetAddress.getLocalHost();
      if (!other.isLoopbackAddress()) {
        HttpRequest outside = HttpRequest.newBuilder(
            URI.create("http://" + other.getHostAddress() + ":" + server.port() + "/metrics")).build();
        org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> client.send(outside, HttpResponse.BodyHandlers.discarding())).isInstanceOf(java.io.IOException.class);
      }
    }
  }
}
