"""The typing Protocols of django_tasks_spec: mypy accepts every shipped class and flags a
backend class that breaks the contract.

mypy runs in a subprocess (the django-stubs plugin sets Django up in its own process) with the
project's mypy.ini, over snippets written for each test.
"""

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import django_tasks.backends
from django_tasks.backends.base import BaseTaskBackend

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from django.core.checks import CheckMessage
from pydantic import BaseModel

from django_tasks import Task, TaskResult
from django_tasks.backends.base import BaseTaskBackend
from django_tasks_spec.protocols import TaskBackendProtocol, TaskProtocol, TaskResultProtocol
from django_tasks_spec.settings import NoOptions

T = TypeVar("T")
"""

# A backend written from scratch, to the Protocol, minus whatever a test leaves out.
STANDALONE_BACKEND = """\
class StandaloneBackend:
    supports_defer: bool = False
    supports_async_task: bool = False
    supports_get_result: bool = False
    supports_priority: bool = False
    supports_timeout: bool = False
    options_schema: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, alias: str, params: Mapping[str, Any]) -> None:
        self.alias = alias
        self.queues = frozenset(["default"])
        self.enqueue_on_commit = True
        self.options = NoOptions()

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None: ...

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResultProtocol[T]:
        raise NotImplementedError

    async def aenqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResultProtocol[T]:
        raise NotImplementedError

    def get_result(self, result_id: str) -> TaskResultProtocol[Any]:
        raise NotImplementedError

    async def aget_result(self, result_id: str) -> TaskResultProtocol[Any]:
        raise NotImplementedError

    def check(self, **kwargs: Any) -> Iterable[CheckMessage]:
        return []
"""


def mypy(tmp_path: Path, source: str) -> list[str]:
    """Type-check a snippet as the project's own code is; return mypy's lines, paths cut."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(HEADER + "\n\n" + textwrap.dedent(source))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file=mypy.ini",
            # Apart from the project's own cache, so that ./dev lint can run meanwhile, and
            # one per Python (./dev test runs the suite in two virtualenvs).
            f"--cache-dir=.mypy_cache/protocol-tests-{sys.version_info[0]}.{sys.version_info[1]}",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            str(snippet),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.stderr == ""
    return [line.removeprefix(f"{snippet}:") for line in completed.stdout.splitlines()]


def line_of(source: str, text: str) -> int:
    """The line number of ``text`` in the snippet built from ``source``."""
    lines = (HEADER + "\n\n" + textwrap.dedent(source)).splitlines()
    (number,) = [number for number, line in enumerate(lines, start=1) if text in line]
    return number


def shipped_backend_classes() -> list[type[BaseTaskBackend]]:
    """Every concrete backend class in django_tasks.backends (and its subpackages)."""
    found: dict[str, type[BaseTaskBackend]] = {}
    package = django_tasks.backends
    for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if {"migrations", "management"} & set(module_info.name.split(".")):
            continue  # No backend classes there.
        module = importlib.import_module(module_info.name)
        for _, member in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(member, BaseTaskBackend)
                and not inspect.isabstract(member)
                and member.__module__.startswith(package.__name__)
            ):
                found[f"{member.__module__}.{member.__qualname__}"] = member
    return sorted(found.values(), key=lambda cls: cls.__qualname__)


def test_shipped_classes_satisfy_the_protocols(tmp_path: Path) -> None:
    backends = shipped_backend_classes()
    assert {"DummyBackend", "ImmediateBackend"} <= {cls.__qualname__ for cls in backends}
    imports = "".join(f"import {cls.__module__}\n" for cls in backends)
    assignments = "".join(
        f"backend_{number}: TaskBackendProtocol = {cls.__module__}.{cls.__qualname__}("
        f'"default", {{}})\n'
        for number, cls in enumerate(backends)
    )
    source = f"""\
{imports}
{assignments}

def task_is_a_task(task: Task[[int, str], list[int]]) -> TaskProtocol[[int, str], list[int]]:
    return task


def result_is_a_result(result: TaskResult[list[int]]) -> TaskResultProtocol[list[int]]:
    return result


def base_class_is_a_backend(backend: BaseTaskBackend) -> TaskBackendProtocol:
    return backend
"""
    assert mypy(tmp_path, source) == []


def test_a_backend_written_to_the_protocol_passes(tmp_path: Path) -> None:
    source = STANDALONE_BACKEND + '\nbackend: TaskBackendProtocol = StandaloneBackend("a", {})\n'
    assert mypy(tmp_path, source) == []


def test_mypy_flags_a_backend_missing_a_protocol_member(tmp_path: Path) -> None:
    source = (
        STANDALONE_BACKEND.replace("    def get_result(", "    def fetch_result(")
        + '\nbackend: TaskBackendProtocol = StandaloneBackend("a", {})\n'
    )
    line = line_of(source, "backend: TaskBackendProtocol =")
    assert mypy(tmp_path, source) == [
        f"{line}: error: Incompatible types in assignment (expression has type "
        f'"StandaloneBackend", variable has type "TaskBackendProtocol")  [assignment]',
        f'{line}: note: "StandaloneBackend" is missing following "TaskBackendProtocol" '
        f"protocol member:",
        f"{line}: note:     get_result",
    ]


def test_mypy_flags_a_member_of_the_wrong_type(tmp_path: Path) -> None:
    source = (
        STANDALONE_BACKEND.replace(
            "self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]\n"
            "    ) -> TaskResultProtocol[T]:\n        raise",
            "self, task: Task[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]\n"
            "    ) -> TaskResultProtocol[T]:\n        raise",
            1,
        ).replace("supports_defer: bool = False", 'supports_defer = "no"')
        + '\nbackend: TaskBackendProtocol = StandaloneBackend("a", {})\n'
    )
    line = line_of(source, "backend: TaskBackendProtocol =")
    assert mypy(tmp_path, source) == [
        f"{line}: error: Incompatible types in assignment (expression has type "
        f'"StandaloneBackend", variable has type "TaskBackendProtocol")  [assignment]',
        f'{line}: note: Following member(s) of "StandaloneBackend" have conflicts:',
        f"{line}: note:     Expected:",
        f"{line}: note:         def [T] enqueue(self, task: TaskProtocol[Any, T], args: "
        f"Sequence[Any], kwargs: Mapping[str, Any]) -> TaskResultProtocol[T]",
        f"{line}: note:     Got:",
        f"{line}: note:         def [T] enqueue(self, task: Task[Any, T], args: Sequence[Any], "
        f"kwargs: Mapping[str, Any]) -> TaskResultProtocol[T]",
        f'{line}: note:     supports_defer: expected "bool", got "str"',
    ]


def test_mypy_flags_a_subclass_of_the_base_missing_its_hook(tmp_path: Path) -> None:
    source = """\
class NoHookBackend(BaseTaskBackend):
    supports_defer = True


backend: TaskBackendProtocol = NoHookBackend("default", {})
"""
    line = line_of(source, "backend: TaskBackendProtocol =")
    assert mypy(tmp_path, source) == [
        f'{line}: error: Cannot instantiate abstract class "NoHookBackend" with abstract '
        f'attribute "_enqueue"  [abstract]'
    ]
