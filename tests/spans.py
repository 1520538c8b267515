"""OpenTelemetry spans for the trace tests: those of this process, in the SDK's in-memory
exporter, and those of worker processes, which write theirs to a file as JSON lines (started
with DJANGO_TASKS_TEST_SPANS, see tests/worker_settings.py)."""

import json
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS_VARIABLE = "DJANGO_TASKS_TEST_SPANS"

_memory = InMemorySpanExporter()


def in_memory() -> InMemorySpanExporter:
    """This process's spans, emptied. The provider is set the first time: OpenTelemetry sets a
    process's global tracer provider once."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_memory))
        trace.set_tracer_provider(provider)
    _memory.clear()
    return _memory


def export_to_file(path: str) -> None:
    """Have this (worker) process write each span it ends to ``path``, one JSON line each."""
    output = open(path, "a", buffering=1)  # noqa: SIM115  # Open for the process's life.
    provider = TracerProvider()
    provider.add_span_processor(
        SimpleSpanProcessor(
            ConsoleSpanExporter(out=output, formatter=lambda span: span.to_json(indent=None) + "\n")
        )
    )
    trace.set_tracer_provider(provider)


def from_file(path: Path) -> list[dict[str, Any]]:
    """The spans a worker wrote to ``path`` (see export_to_file)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trace_id(span: ReadableSpan) -> str:
    """A span's trace id as the JSON of export_to_file writes it."""
    assert span.context is not None
    return f"0x{span.context.trace_id:032x}"


def span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"0x{span.context.span_id:016x}"
