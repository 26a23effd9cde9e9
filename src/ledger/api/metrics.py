"""Prometheus metrics: commands and their refusals by type (counted by an
ASGI middleware) and each read model's position and lag (read at scrape time).

Each app has a registry of its own, so several apps in one process (tests)
do not collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.worker import Worker

_ERROR_BODY_LIMIT = 64 * 1024


class ProjectionCollector(Collector):
    """Position, head, lag (events and seconds) and rows per read model."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            key: GaugeMetricFamily(f"ledger_projection_{key}", help_, labels=["model"])
            for key, help_ in (
                ("position", "last log position the read model applied"),
                ("lag_events", "events in the log the read model has not applied"),
                ("lag_seconds", "age of the oldest event the read model has not applied"),
                ("rows", "rows in the read model"),
            )
        }
        statuses = self.worker.status()
        for status in statuses:
            for key, family in families.items():
                family.add_metric([status["name"]], float(status[key]))
        head = GaugeMetricFamily("ledger_log_head", "last position in the event log")
        head.add_metric([], float(statuses[0]["head"] if statuses else 0))
        yield from families.values()
        yield head


class Metrics:
    """The app's registry and its counters."""

    def __init__(self, worker: Worker) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "ledger_commands", "commands handled, by type", ["command"], registry=self.registry
        )
        self.errors = Counter(
            "ledger_command_errors",
            "commands refused, by type and error code",
            ["command", "code"],
            registry=self.registry,
        )
        self.registry.register(ProjectionCollector(worker))


class CountCommands:
    """Counts every POST by its route's endpoint name, and refusals by code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._counters: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": 0, "body": b""}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif (
                message["type"] == "http.response.body"
                and seen["status"] >= 400
                and len(seen["body"]) < _ERROR_BODY_LIMIT
            ):
                seen["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._count(scope, seen["status"], seen["body"])

    def _count(self, scope: Scope, status: int, body: bytes) -> None:
        endpoint = scope.get("endpoint")
        command = getattr(endpoint, "__name__", "unrouted")
        counter = self._counters.get(command)
        if counter is None:  # ``labels`` checks and locks on every call: once per name
            counter = self._counters[command] = self.metrics.commands.labels(command)
        counter.inc()
        if status >= 400 or status == 0:
            self.metrics.errors.labels(command, _code(body, status)).inc()


def _code(body: bytes, status: int) -> str:
    try:
        code = orjson.loads(body).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        code = None
    return str(code) if code else f"http_{status}"
