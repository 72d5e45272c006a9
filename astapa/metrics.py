"""The service's Prometheus metrics, kept in a registry of its own.

Never the client library's global registry: the tests run many servers in one process, and
each must count only its own requests. With `--workers`, the supervisor gives every worker
PROMETHEUS_MULTIPROC_DIR: each one's values go to files there, and a scrape, whichever
worker answers it, collects them all (prometheus_client's multiprocess mode).
"""

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The text format every Prometheus server reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# A fixed set, so a sign-in's label never comes from what a client sent.
SIGN_IN_OUTCOMES = ("success", "wrong_credentials", "disabled", "unverified", "throttled")
# From 1 ms (a cached document) to 5 s (past the read-your-write wait).
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "astapa_http_requests", "HTTP requests answered, by route name, method and status.",
            ["route", "method", "status"], registry=self.registry)
        self.request_duration = Histogram(
            "astapa_http_request_duration_seconds", "Time to answer an HTTP request, by route name and method.",
            ["route", "method"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.tokens_issued = Counter(
            "astapa_tokens_issued", "Access tokens issued, by grant type.", ["grant_type"], registry=self.registry)
        self.sign_ins = Counter(
            "astapa_sign_ins", "Password sign-ins on the hosted pages, by outcome.", ["outcome"],
            registry=self.registry)
        # Set when scraped (their queries must not run on the event loop): the latest scrape wins.
        self.projection_lag = Gauge(
            "astapa_projection_lag_events", "Events in the log that the read models have not applied yet.",
            registry=self.registry, multiprocess_mode="mostrecent")
        self.mail_queue = Gauge(
            "astapa_mail_queue_length", "Mail queued and not yet sent.",
            registry=self.registry, multiprocess_mode="mostrecent")
        for outcome in SIGN_IN_OUTCOMES:  # every outcome shows from the start, at 0
            self.sign_ins.labels(outcome)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """`route` is a route's name, never the path asked for: the labels stay few."""
        method = method if method in METHODS else "other"
        self.requests.labels(route, method, str(status)).inc()
        self.request_duration.labels(route, method).observe(seconds)

    def token_issued(self, grant_type: str) -> None:
        self.tokens_issued.labels(grant_type).inc()

    def sign_in(self, outcome: str) -> None:
        if outcome not in SIGN_IN_OUTCOMES:
            raise ValueError(f"not a sign-in outcome: {outcome!r}")
        self.sign_ins.labels(outcome).inc()

    def render(self, projection_lag: int, mail_queue: int) -> bytes:
        """The text a scrape gets, with the gauges read just now by the caller."""
        self.projection_lag.set(projection_lag)
        self.mail_queue.set(mail_queue)
        if os.environ.get(MULTIPROCESS_DIR):
            every_worker = CollectorRegistry()
            multiprocess.MultiProcessCollector(every_worker)
            return generate_latest(every_worker)
        return generate_latest(self.registry)
