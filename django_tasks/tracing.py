"""OpenTelemetry traces of enqueueing and running tasks (the ``opentelemetry`` extra).

Enqueueing a task is a PRODUCER span (``send {queue}``; one span for a bulk_enqueue, with the
batch's count); each attempt at running it is a CONSUMER span (``process {queue}``), a child of
the enqueueing span's context and linked to it, so that the request that enqueued a task and
the task's run share a trace. The context travels with the task: in the database backend's
``trace_context`` column, in the Celery backend's message headers (W3C trace context, through
``opentelemetry.propagate``, so a project's own propagators apply). The ImmediateBackend runs
the task inside the enqueueing span. Attributes follow OpenTelemetry's messaging semantic
conventions: ``messaging.system``, ``messaging.destination.name`` (the queue),
``messaging.message.id`` (the result id), ``messaging.operation.type`` and ``.name``. A failed
attempt's span records the exception and has status ERROR.

Off unless the project has set a tracer provider (an SDK's): without opentelemetry-api, or
without a provider, each function here returns after one check, and nothing is stored with the
task.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
except ImportError:  # The extra is not installed: tracing is off.
    trace = None  # type: ignore[assignment]  # The module's absence is the flag.

if TYPE_CHECKING:
    from django_tasks.execution import Outcome
    from django_tasks.results import AnyResult

T = TypeVar("T")

SYSTEM = "django_tasks"
"""``messaging.system``: no system of OpenTelemetry's list, so this project's name."""
TRACER_NAME = "django_tasks"

_OFF: AbstractContextManager[None] = nullcontext()


_enabled = False
"""Set once a tracer provider is seen: OpenTelemetry sets a process's provider once, for good."""


def enabled() -> bool:
    """Whether spans are recorded: opentelemetry-api is installed and a tracer provider set."""
    global _enabled
    if _enabled or trace is None:
        return _enabled
    provider = trace.get_tracer_provider()
    _enabled = not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
    return _enabled


def producing(results: Sequence["AnyResult"]) -> AbstractContextManager[Any]:
    """The span of enqueueing ``results`` (one task, or a bulk_enqueue's batch of one task),
    current while the backend stores or sends them. What the block raises is recorded."""
    if not results or not enabled():
        return _OFF
    first = results[0]
    queue = first.task.queue_name
    attributes: dict[str, Any] = {
        **_common(first, queue),
        "messaging.operation.type": "send",
        "messaging.operation.name": "enqueue",
    }
    if len(results) == 1:
        attributes["messaging.message.id"] = str(first.id)
    else:
        attributes["messaging.batch.message_count"] = len(results)
    return trace.get_tracer(TRACER_NAME).start_as_current_span(
        f"send {queue}", kind=trace.SpanKind.PRODUCER, attributes=attributes
    )


def carrier() -> dict[str, str] | None:
    """The current trace context as text fields (``traceparent``...), to store or send with a
    task; None when tracing is off or no span is current."""
    if not enabled():
        return None
    fields: dict[str, str] = {}
    propagate.inject(fields)
    return fields or None


def carried(callback: Callable[[], T]) -> Callable[[], T]:
    """``callback``, to run later (once a transaction commits) in the trace context current
    now: the task it enqueues then is part of the enqueueing span's trace."""
    if not enabled():
        return callback
    context = otel_context.get_current()

    def run() -> T:
        token = otel_context.attach(context)
        try:
            return callback()
        finally:
            otel_context.detach(token)

    return run


def consuming(
    result: "AnyResult", fields: Mapping[str, Any] | None, run: Callable[[], "Outcome"]
) -> "Outcome":
    """Run one attempt of ``result``'s task (``run``: execution.run_task) in its span: a child
    of the context ``fields`` carry (the enqueueing span's; None: the current context, the
    ImmediateBackend's enqueueing span), linked to it. A failed attempt's exception is
    recorded, and the span's status set to ERROR."""
    if not enabled():
        return run()
    parent = otel_context.get_current() if fields is None else propagate.extract(dict(fields))
    producer = trace.get_current_span(parent).get_span_context()
    queue = result.task.queue_name
    attributes: dict[str, Any] = {
        **_common(result, queue),
        "messaging.message.id": str(result.id),
        "messaging.operation.type": "process",
        "messaging.operation.name": "run",
        "django_tasks.attempt": result.attempts,
    }
    with trace.get_tracer(TRACER_NAME).start_as_current_span(
        f"process {queue}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        links=[trace.Link(producer)] if producer.is_valid else None,
        attributes=attributes,
    ) as span:
        outcome = run()
        _record(span, outcome)
        return outcome


def _common(result: "AnyResult", queue: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.destination.name": queue,
        "django_tasks.backend": result.backend,
        "django_tasks.task.path": result.task.module_path,
    }


def _record(span: Any, outcome: "Outcome") -> None:
    """Mark the span of an attempt that failed: its exception, ``error.type``, status ERROR."""
    if outcome.error is None:
        return
    class_path = outcome.error.exception_class_path
    if outcome.exception is not None:
        span.record_exception(outcome.exception)
    span.set_attribute("error.type", class_path)
    span.set_status(trace.Status(trace.StatusCode.ERROR, class_path))
