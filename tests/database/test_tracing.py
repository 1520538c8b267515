"""Traces with real workers, on each database (django_tasks.tracing): every way of enqueueing
stores the enqueueing span's context with the task, and the worker's span of each run, in
either pool, is its child, in the trace of the request that enqueued it."""

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.database.conftest import StartWorker
from tests.spans import SPANS_VARIABLE, from_file, in_memory, span_id, trace_id
from tests.tasks import add, fail

pytestmark = pytest.mark.transactional


def enqueue_every_way(backend: DatabaseBackend) -> tuple[Any, dict[str, str], list[ReadableSpan]]:
    """Inside a request's span, enqueue tasks by each path; return the request's span, the id
    of the producer span of each result, and the producer spans."""
    spans = in_memory()
    with trace.get_tracer("tests").start_as_current_span("request") as request:
        single = add.enqueue(1, 2)
        failed = fail.enqueue("Boom")
        unique = add.using(unique_key="traced").enqueue(3, 4)
        awaited = async_to_sync(add.aenqueue)(5, 6)
        bulk = backend.bulk_enqueue(add, [((7, 8), {}), ((9, 10), {})])
        with transaction.atomic(using=backend.database):
            committed = add.enqueue(11, 12)
    producers = [span for span in spans.get_finished_spans() if span.name == "send default"]
    by_result = {}
    for producer in producers:
        assert producer.attributes is not None
        if "messaging.message.id" in producer.attributes:
            by_result[str(producer.attributes["messaging.message.id"])] = span_id(producer)
        else:
            assert producer.attributes["messaging.batch.message_count"] == 2
            by_result.update({result.id: span_id(producer) for result in bulk})
    ids = [single.id, failed.id, unique.id, awaited.id, *(r.id for r in bulk), committed.id]
    assert sorted(by_result) == sorted(ids)
    return request, by_result, producers


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_each_run_s_span_is_a_child_of_its_enqueueing_span_in_the_request_s_trace(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path, pool: str
) -> None:
    request, producers, _ = enqueue_every_way(backend)
    stored = DBTaskResult.objects.using(backend.database).values_list("trace_context", flat=True)
    assert all(set(context or ()) == {"traceparent"} for context in stored)
    log = tmp_path / "spans.jsonl"
    worker = start_worker("--batch", "--pool", pool, env={SPANS_VARIABLE: str(log)})
    assert worker.wait() == 0, worker.output()
    runs = {span["attributes"]["messaging.message.id"]: span for span in from_file(log)}
    assert sorted(runs) == sorted(producers)
    request_trace = f"0x{request.get_span_context().trace_id:032x}"
    for result_id, run in runs.items():
        assert run["name"] == "process default"
        assert run["kind"] == "SpanKind.CONSUMER"
        assert run["context"]["trace_id"] == request_trace
        assert run["parent_id"] == producers[result_id]
        assert [link["context"]["span_id"] for link in run["links"]] == [producers[result_id]]
        assert run["attributes"]["messaging.system"] == "django_tasks"
        assert run["attributes"]["messaging.destination.name"] == "default"
        assert run["attributes"]["django_tasks.attempt"] == 1
    failures = [run for run in runs.values() if run["status"]["status_code"] == "ERROR"]
    (failure,) = failures
    assert failure["attributes"]["django_tasks.task.path"] == fail.module_path
    assert failure["attributes"]["error.type"] == "builtins.ValueError"
    assert [event["name"] for event in failure["events"]] == ["exception"]
    assert failure["events"][0]["attributes"]["exception.message"] == "Boom"


def test_the_producer_spans_share_the_request_s_trace(backend: DatabaseBackend) -> None:
    request, _, producers = enqueue_every_way(backend)
    assert {trace_id(span) for span in producers} == {
        f"0x{request.get_span_context().trace_id:032x}"
    }
    assert all(span.parent is not None for span in producers)
