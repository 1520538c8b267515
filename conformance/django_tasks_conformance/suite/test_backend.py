"""The backend itself: its class, capability flags, validate_task, aliases and checks."""

import re

import pytest
from django.core import checks

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import ALIASES
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, plain_function
from django_tasks_spec.requirements import CAPABILITIES

w = words()
"""The words of the dialect the backend under test speaks."""

FLAGS = ("supports_defer", "supports_async_task", "supports_get_result", "supports_priority")
"""The flags of DEP 0014, which every backend declares. This project's other CAPABILITIES a
backend of Django's dialect may lack (it supports none of them)."""

CHECK_ID = re.compile(r"^[A-Za-z_][\w.]*\.[A-Z]\d{3}$")


@requirement("TASK-BACKEND-001", "TASK-BACKEND-004")
def test_the_backend_is_a_base_task_backend(suite: Suite) -> None:
    with clause("TASK-BACKEND-004" if w.django else "TASK-BACKEND-001"):
        assert isinstance(suite.backend, w.BaseTaskBackend)


@requirement("TASK-CAP-001")
def test_capability_flags_are_booleans_on_the_class_and_instance(suite: Suite) -> None:
    backend_class = type(suite.backend)
    for flag in (f for f in CAPABILITIES if f in FLAGS or hasattr(backend_class, f)):
        with clause("TASK-CAP-001"):
            assert type(getattr(backend_class, flag)) is bool, flag
            assert getattr(suite.backend, flag) is getattr(backend_class, flag), flag


@requirement("TASK-BACKEND-002")
def test_validate_task_raises_for_tasks_it_cannot_run(suite: Suite) -> None:
    with clause("TASK-BACKEND-002"):
        assert suite.backend.validate_task(add) is None  # It returns None.
    unlisted = w.unvalidated_task(plain_function, queue_name="not-listed")
    with clause("TASK-BACKEND-002"), pytest.raises(w.InvalidTask):
        suite.backend.validate_task(unlisted)


@requirement("TASK-SETTINGS-003")
def test_aliases_lead_to_their_backends(suite: Suite) -> None:
    backend_class = type(suite.backend)
    with clause("TASK-SETTINGS-003"):
        assert w.backends["default"].alias == "default"
        assert w.backends[ALIASES["any_queue"]].alias == ALIASES["any_queue"]
        assert isinstance(w.backends[ALIASES["any_queue"]], backend_class)
        assert w.default_backend.alias == "default"
        assert w.default_backend.enqueue.__self__ is w.backends["default"]


@requirement("TASK-CHECK-001", "TASK-CHECK-002")
def test_every_check_message_has_an_id(suite: Suite) -> None:
    messages = list(suite.backend.check())
    for message in messages:
        with clause("TASK-CHECK-001"):
            assert isinstance(message, checks.CheckMessage), repr(message)
            assert message.id, f"Check message without an id: {message}"
        with clause("TASK-CHECK-002"):
            assert CHECK_ID.match(message.id), message.id
