"""Traces (django_tasks.tracing): the enqueueing span and the run's share a trace; a failed run's
span says why; without opentelemetry, or without a tracer provider, nothing is traced and tasks
run as ever. The database and Celery backends' workers: tests/database/test_tracing.py and
tests/celery/test_tracing.py."""

import subprocess
import sys
import textwrap
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from django_tasks import tracing
from tests.spans import in_memory, span_id
from tests.tasks import add, fail

ROOT = Path(__file__).resolve().parent.parent


def test_an_immediate_task_runs_in_a_child_of_its_enqueueing_span_linked_to_it() -> None:
    spans = in_memory()
    with trace.get_tracer("tests").start_as_current_span("request") as request:
        result = add.enqueue(1, 2)
    assert result.return_value == 3
    by_name = {span.name: span for span in spans.get_finished_spans()}
    send, process = by_name["send default"], by_name["process default"]
    assert send.kind == SpanKind.PRODUCER
    assert process.kind == SpanKind.CONSUMER
    assert send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert {span.context.trace_id for span in (send, process)} == {
        request.get_span_context().trace_id
    }
    assert [span_id_of(link.context.span_id) for link in process.links] == [span_id(send)]
    assert dict(send.attributes or {}) == {
        "messaging.system": "django_tasks",
        "messaging.destination.name": "default",
        "messaging.message.id": result.id,
        "messaging.operation.type": "send",
        "messaging.operation.name": "enqueue",
        "django_tasks.backend": "default",
        "django_tasks.task.path": add.module_path,
    }
    assert dict(process.attributes or {}) == {
        "messaging.system": "django_tasks",
        "messaging.destination.name": "default",
        "messaging.message.id": result.id,
        "messaging.operation.type": "process",
        "messaging.operation.name": "run",
        "django_tasks.backend": "default",
        "django_tasks.task.path": add.module_path,
        "django_tasks.attempt": 1,
    }
    assert process.status.status_code == StatusCode.UNSET


def test_a_failed_run_s_span_records_its_exception_and_has_status_error() -> None:
    spans = in_memory()
    result = fail.enqueue("Boom")
    assert result.errors  # The failure is the result's, never the caller's.
    (process,) = [span for span in spans.get_finished_spans() if span.name == "process default"]
    assert process.status.status_code == StatusCode.ERROR
    assert process.status.description == "builtins.ValueError"
    assert process.attributes is not None
    assert process.attributes["error.type"] == "builtins.ValueError"
    (event,) = process.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "Boom"
    (send,) = [span for span in spans.get_finished_spans() if span.name == "send default"]
    assert send.status.status_code == StatusCode.UNSET  # Enqueueing went well.


def span_id_of(value: int) -> str:
    return f"0x{value:016x}"


def run_python(code: str) -> str:
    """Run ``code`` in a new interpreter with the tests' settings; return its output."""
    finished = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def test_without_opentelemetry_tasks_run_and_nothing_is_traced() -> None:
    output = run_python(
        """
        import sys

        class NoOpenTelemetry:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "opentelemetry":
                    raise ModuleNotFoundError(f"No module named {name!r}")

        sys.meta_path.insert(0, NoOpenTelemetry())
        import django
        django.setup()
        from django_tasks import tracing
        from tests.tasks import add
        print(add.enqueue(1, 2).return_value, tracing.enabled(), tracing.carrier())
        print(any(name.startswith("opentelemetry") for name in sys.modules))
        """
    )
    assert output.split() == ["3", "False", "None", "False"]


def test_without_a_tracer_provider_nothing_is_traced_or_carried() -> None:
    output = run_python(
        """
        import django
        django.setup()
        from opentelemetry import trace
        from django_tasks import tracing
        from tests.tasks import add
        with trace.get_tracer("tests").start_as_current_span("request"):
            result = add.enqueue(1, 2)
            print(result.return_value, tracing.enabled(), tracing.carrier())
            print(tracing.producing([result]) is tracing.producing([result]))
        """
    )
    assert output.split() == ["3", "False", "None", "True"]


def test_tracing_is_on_once_a_tracer_provider_is_set() -> None:
    in_memory()
    assert tracing.enabled()
    assert tracing.carrier() is None  # No span is current: nothing to carry.
    with trace.get_tracer("tests").start_as_current_span("request"):
        fields = tracing.carrier()
    assert fields is not None
    assert set(fields) == {"traceparent"}
