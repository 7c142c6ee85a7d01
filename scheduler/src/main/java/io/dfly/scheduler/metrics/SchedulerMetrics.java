package io.dfly.scheduler.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** The scheduler's meters; names are Prometheus-style once scraped (dots become underscores). */
public final class SchedulerMetrics {
  private final MeterRegistry registry;
  private final Timer decisionLatency;
  private final ConcurrentHashMap<String, Counter> decisions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> blocked = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> backToSource = new ConcurrentHashMap<>();
  private final Counter hostPenalties;
  private final Counter slowParents;

  public SchedulerMetrics(MeterRegistry registry) {
    this.registry = registry;
    decisionLatency = Timer.builder("dfly.scheduler.decision.latency")
        .description("Time to pick a peer's parents or another answer for it")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(1_000))
        .maximumExpectedValue(Duration.ofMillis(100))
        .register(registry);
    hostPenalties = Counter.builder("dfly.scheduler.host.penalties")
        .description("Penalties given to hosts whose peers were blocked as parents")
        .register(registry);
    slowParents = Counter.builder("dfly.scheduler.parents.slow")
        .description("Parents found slow, whose new children are capped (not blocked)")
        .register(registry);
  }

  /** One decision for a peer, by what it came to: parents, pending, back_to_source, direct. */
  public void decision(String outcome, long nanos) {
    decisions.computeIfAbsent(outcome, o -> Counter.builder("dfly.scheduler.decisions")
        .description("Scheduling decisions, by outcome").tag("outcome", o).register(registry)).increment();
    decisionLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A parent blocked for a task, by kind of reason: corrupt, stalled, failures, cost_jump, slow. */
  public void parentBlocked(String reason) {
    blocked.computeIfAbsent(reason, r -> Counter.builder("dfly.scheduler.parents.blocked")
        .description("Parents blocked for a task, by reason").tag("reason", r).register(registry)).increment();
  }

  public void slowParent() {
    slowParents.increment();
  }

  public void hostPenalised() {
    hostPenalties.increment();
  }

  /** A peer told to fetch from the origin, by reason: seed, no_parent, rounds. */
  public void backToSource(String reason) {
    backToSource.computeIfAbsent(reason, r -> Counter.builder("dfly.scheduler.back.to.source")
        .description("Peers told to fetch from the origin, by reason").tag("reason", r).register(registry))
        .increment();
  }

  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }
}
