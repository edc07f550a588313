"""Prometheus metrics: request counts and latency from the app, and round/queue/version
figures read from Redis at scrape time (rounds run in other processes)."""
from __future__ import annotations

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from rq import Queue

from backend.project_state import ProjectState, known_projects


class AppMetrics:
    def __init__(self, conn: redis.Redis, queue: Queue):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "atgen_requests", "HTTP requests served", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "atgen_request_latency_seconds", "HTTP request latency", ["route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.registry.register(_RedisCollector(conn, queue))


class _RedisCollector:
    def __init__(self, conn: redis.Redis, queue: Queue):
        self.conn, self.queue = conn, queue

    def collect(self):
        depth = GaugeMetricFamily("atgen_queue_depth", "Jobs waiting in the round queue")
        depth.add_metric([], self.queue.count)
        yield depth
        rounds = GaugeMetricFamily("atgen_rounds_completed", "Completed rounds per project", labels=["project"])
        version = GaugeMetricFamily(
            "atgen_model_version_info", "Current model version per project (value is always 1)",
            labels=["project", "version"],
        )
        for project_id in known_projects(self.conn):
            state = ProjectState(self.conn, project_id)
            rounds.add_metric([str(project_id)], state.rounds_total())
            current = state.model_version()
            if current:
                version.add_metric([str(project_id), current], 1)
        yield rounds
        yield version
