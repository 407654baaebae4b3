"""Prometheus metrics, one registry per app (so two apps in one test process never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WATCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("ecn_bot_events_total", "Webhook events by type and outcome",
                              ["type", "outcome"], registry=r)
        self.signature_failures = Counter(
            "ecn_bot_signature_failures_total", "Webhooks refused for a missing or wrong signature",
            registry=r)
        self.commands = Counter("ecn_bot_commands_total", "Commands and card actions by outcome",
                                ["command", "outcome"], registry=r)
        self.changes = Counter("ecn_bot_changes_total", "Attempted setting changes by outcome",
                               ["action", "outcome"], registry=r)
        self.webex_calls = Counter("ecn_bot_webex_calls_total",
                                   "Webex calls by endpoint and status",
                                   ["endpoint", "status"], registry=r)
        self.webex_latency = Histogram("ecn_bot_webex_call_seconds", "Webex call latency",
                                       ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.webex_retries = Counter("ecn_bot_webex_retries_total", "Retried Webex calls",
                                     ["endpoint", "status"], registry=r)
        self.in_flight = Gauge("ecn_bot_events_in_flight", "Events being processed", registry=r)
        self.queued = Gauge("ecn_bot_events_queued", "Events waiting for a worker", registry=r)
        self.watch_last_check = Gauge(
            "ecn_bot_watch_last_check_timestamp_seconds",
            "When this process last finished a watch check (Unix time)", registry=r)
        self.watch_duration = Histogram("ecn_bot_watch_check_seconds", "Watch check duration",
                                        buckets=WATCH_BUCKETS, registry=r)
        self.watch_checks = Counter("ecn_bot_watch_checks_total", "Watch checks by outcome",
                                    ["outcome"], registry=r)
        self.watch_changes = Counter("ecn_bot_watch_changes_total",
                                     "Changes the watch found, alerts and notices",
                                     ["kind"], registry=r)

    def event(self, kind: str, outcome: str) -> None:
        self.events.labels(kind, outcome).inc()

    def command(self, name: str, outcome: str) -> None:
        self.commands.labels(name, outcome).inc()

    def change(self, action: str, outcome: str) -> None:
        self.changes.labels(action, outcome).inc()

    def webex_call(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Observer for the gateways: `method` is "retry" for a retry notice."""
        if method == "retry":
            self.webex_retries.labels(endpoint, str(status)).inc()
            return
        self.webex_calls.labels(endpoint, str(status)).inc()
        self.webex_latency.labels(endpoint).observe(seconds)

    def watch_check(self, outcome: str, seconds: float, kinds: list[str], at: float) -> None:
        """One watch check: how it went, how long it took, what it found, when it ended."""
        self.watch_checks.labels(outcome).inc()
        self.watch_duration.observe(seconds)
        self.watch_last_check.set(at)
        for kind in kinds:
            self.watch_changes.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
