"""LEDGER_TELEMETRY: FastAPI's OpenTelemetry spans for each request, to the
providers the process configured; off by default. In a fresh interpreter, as
the tracer provider is global to a process."""

from __future__ import annotations

import json

from api_client import TOKENS, receipt

from fresh import run_fresh

SCRIPT = [
    "import json",
    "from fastapi.testclient import TestClient",
    "from opentelemetry import trace",
    "from opentelemetry.sdk.trace import TracerProvider",
    "from opentelemetry.sdk.trace.export import SimpleSpanProcessor",
    "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter",
    "exporter = InMemorySpanExporter()",
    "provider = TracerProvider()",
    "provider.add_span_processor(SimpleSpanProcessor(exporter))",
    "trace.set_tracer_provider(provider)",
    "from ledger.api.app import create_app",
    "from ledger.settings import Settings",
    f"TOKENS = {json.dumps(TOKENS)}",
    f"BODY = {json.dumps(receipt())}",
    "seen = {}",
    "for on in (False, True):",
    "    exporter.clear()",
    "    app = create_app(Settings(database_url='memory://', tokens=TOKENS, telemetry=on))",
    "    with TestClient(app) as client:",
    "        answer = client.post('/orders', json=BODY,",
    "                             headers={'Authorization': 'Bearer t-sales'})",
    "    names = [s.name for s in exporter.get_finished_spans()]",
    "    routes = [s.attributes.get('http.route') for s in exporter.get_finished_spans()]",
    "    seen[str(on)] = {'status': answer.status_code, 'names': names, 'routes': routes}",
    "print(json.dumps(seen))",
]


def test_spans_for_each_request_only_when_telemetry_is_on() -> None:
    seen = run_fresh(SCRIPT)
    off, on = seen["False"], seen["True"]
    assert off["status"] == on["status"] == 201
    assert off["names"] == []
    # the command is traced under its route, as FastAPI's router named it
    assert "POST /orders" in on["names"]
    assert "/orders" in on["routes"]
