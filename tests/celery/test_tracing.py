"""Traces through Celery (django_tasks.tracing): the enqueueing span's context travels in the
message's headers, and the worker's span of the run is its child, in the request's trace."""

import os
from pathlib import Path

import pytest
from opentelemetry import trace

from django_tasks.backends.celery import CeleryBackend
from django_tasks.task import ResultStatus
from django_tasks_conformance.harnesses.celery import purge
from tests.celery import apps
from tests.celery.conftest import CeleryWorker, finished, tasks_setting
from tests.helpers import wait_until
from tests.spans import SPANS_VARIABLE, from_file, in_memory, span_id
from tests.tasks import add, fail

TRACES_QUEUE = f"{apps.NAMESPACE}.traces"


# Every test database exists before the worker starts: Celery's Django fixup checks the models.
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_the_run_s_span_is_a_child_of_the_enqueueing_span_and_a_failure_is_recorded(
    broker: str, backend: CeleryBackend, tmp_path: Path
) -> None:
    app = getattr(apps, broker)
    purge(app, [TRACES_QUEUE])
    log = tmp_path / "spans.jsonl"
    worker = CeleryWorker(
        f"tests.celery.apps:{broker}",
        f"traces-{broker}{apps.SUFFIX}-{os.getpid()}",
        [TRACES_QUEUE],
        tmp_path / "worker.log",
        tasks_setting(broker),
        {SPANS_VARIABLE: str(log)},
    )
    spans = in_memory()
    try:
        worker.wait_ready()
        with trace.get_tracer("tests").start_as_current_span("request") as request:
            added = add.using(queue_name=TRACES_QUEUE).enqueue(1, 2)
            failed = fail.using(queue_name=TRACES_QUEUE).enqueue("Boom")
        assert finished(added).status == ResultStatus.SUCCEEDED
        assert finished(failed).status == ResultStatus.FAILED
        # A run's span ends after its outcome is stored: wait for both before stopping.
        wait_until(lambda: len(from_file(log)) == 2, what=f"two spans in {log}")
    finally:
        worker.stop()
    producers = {
        str((span.attributes or {})["messaging.message.id"]): span_id(span)
        for span in spans.get_finished_spans()
        if span.name == f"send {TRACES_QUEUE}"
    }
    written = from_file(log)
    runs = {span["attributes"]["messaging.message.id"]: span for span in written}
    assert len(written) == len(runs), written  # One run each.
    assert sorted(runs) == sorted(producers) == sorted([added.id, failed.id])
    for result_id, run in runs.items():
        assert run["kind"] == "SpanKind.CONSUMER"
        assert run["context"]["trace_id"] == f"0x{request.get_span_context().trace_id:032x}"
        assert run["parent_id"] == producers[result_id]
        assert [link["context"]["span_id"] for link in run["links"]] == [producers[result_id]]
    assert runs[added.id]["status"]["status_code"] == "UNSET"
    assert runs[failed.id]["status"]["status_code"] == "ERROR"
    assert runs[failed.id]["attributes"]["error.type"] == "builtins.ValueError"
    assert [event["name"] for event in runs[failed.id]["events"]] == ["exception"]
