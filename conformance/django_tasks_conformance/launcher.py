"""Start management commands in a few milliseconds: fork them from a process that set Django up.

A harness whose drains start a worker process pays for starting Python and setting Django up at
every drain: a few hundred milliseconds, many times what the drain itself takes. A ``Launcher``
pays it once per run. It starts ``python -m django_tasks_conformance.launcher`` with the given
environment (``DJANGO_SETTINGS_MODULE`` included); that process sets Django up, imports the
modules it is told to preload, and then forks one child per command it is asked to run. Each
child is a real process running the real command through ``django.core.management``, as
``manage.py`` would: the harness signals it by its pid, and learns when it exits and with which
status.

``CommandProcess`` wraps a command's process, forked by a launcher or started with
``subprocess.Popen``: its output, its exit status, and stopping it (SIGTERM, then SIGKILL).

The protocol, one line each way: the harness writes ``{"argv": [...], "log": "path"}`` (JSON)
to the launcher's stdin; the launcher answers ``started PID`` on its stdout once it has forked,
then ``exited PID STATUS`` when that child ends. The child's output goes to ``log``. The
launcher exits when its stdin closes, stopping the children still running.
"""

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READY = "ready"

WORKER_SETTINGS = "django_tasks_conformance.worker_settings"
"""The settings module of the workers a harness starts (see it for what it changes)."""

ENVIRONMENT_VARIABLE = "DJANGO_TASKS_CONFORMANCE_WORKER"
"""How a harness hands its workers what their settings need, as JSON."""
STOP_TIMEOUT = 10.0
"""Seconds a command has to exit after SIGTERM before it is killed."""

OUTPUT_TAIL = 3000
"""How many characters of a command's output a failure message quotes."""

START_TIMEOUT = 60.0
"""Seconds the launcher may take to set Django up."""


class LauncherError(RuntimeError):
    """The launcher process failed or stopped answering."""


class Launched:
    """A command the launcher started: its pid, and its exit status once it has exited."""

    def __init__(self, launcher: "Launcher", pid: int) -> None:
        self.launcher = launcher
        self.pid = pid

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), or None while it runs."""
        return self.launcher.status(self.pid)

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def wait(self, timeout: float) -> int:
        """Wait for the command to exit; raise TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (code := self.returncode) is None:
            if not self.launcher.read(deadline - time.monotonic()):
                raise TimeoutError(f"Process {self.pid} did not exit within {timeout:g}s.")
        return code


class Launcher:
    """Runs a launcher process; ``start`` forks a management command from it."""

    def __init__(self, environment: dict[str, str], preload: list[str], log: Path) -> None:
        self.log = log
        self._exited: dict[int, int] = {}
        self._buffer = b""
        with log.open("wb") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, *preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                env=environment,
            )
        if self._line(START_TIMEOUT) != READY:
            raise self._failed("did not start")

    def start(self, argv: list[str], log: Path) -> Launched:
        """Fork a process that runs ``django-admin *argv``, its output in ``log``."""
        request = json.dumps({"argv": argv, "log": str(log)}) + "\n"
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(request.encode())
            self._process.stdin.flush()
        except BrokenPipeError:
            raise self._failed("stopped") from None
        kind, pid, _ = self._message(START_TIMEOUT)
        if kind != "started":
            raise self._failed(f"answered {kind!r} instead of 'started'")
        return Launched(self, pid)

    def status(self, pid: int) -> int | None:
        self.read(0)
        return self._exited.get(pid)

    def read(self, timeout: float) -> bool:
        """Take in the messages that arrive within ``timeout`` seconds; whether any did."""
        line = self._line(max(timeout, 0.0))
        if line is None:
            return False
        while line is not None:
            self._take(line)
            line = self._line(0)
        return True

    def close(self) -> None:
        """Stop the launcher (and any command still running) and wait for it."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()

    def _message(self, timeout: float) -> tuple[str, int, int | None]:
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline - time.monotonic())
            if line is None:
                raise self._failed(f"did not answer within {timeout:g}s")
            kind, pid, status = self._take(line)
            if kind != "exited":
                return kind, pid, status

    def _take(self, line: str) -> tuple[str, int, int | None]:
        kind, _, rest = line.partition(" ")
        numbers = [int(part) for part in rest.split()]
        if kind == "exited":
            self._exited[numbers[0]] = numbers[1]
            return kind, numbers[0], numbers[1]
        return kind, numbers[0], None

    def _line(self, timeout: float) -> str | None:
        """The next line from the launcher, waiting up to ``timeout`` seconds; None if none."""
        assert self._process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = max(deadline - time.monotonic(), 0.0)
            readable, _, _ = select.select([self._process.stdout], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._process.stdout.fileno(), 65536)
            if not chunk:
                raise self._failed("exited")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _failed(self, what: str) -> LauncherError:
        self._process.poll()
        output = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        return LauncherError(
            f"The command launcher (pid {self._process.pid}, status {self._process.returncode}) "
            f"{what}. Its output:\n{output}"
        )


def worker_environment(harness: str, tasks: dict[str, Any]) -> dict[str, str]:
    """The environment of a harness's worker processes: this process's, with what the workers'
    settings module (WORKER_SETTINGS) reads: this run's settings module, its databases' names
    (the test databases) and ``tasks`` as TASKS; and this run's sys.path, so that the workers
    import the same modules (settings, tasks)."""
    from django.conf import ENVIRONMENT_VARIABLE as SETTINGS_VARIABLE
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections

    settings_module = os.environ.get(SETTINGS_VARIABLE)
    if not settings_module:
        raise ImproperlyConfigured(
            f"{harness} starts workers with the settings module of this run, but Django was "
            f"configured without one (settings.configure()); set DJANGO_SETTINGS_MODULE or "
            f"pass --ds instead."
        )
    worker = {
        "settings": settings_module,
        "databases": {
            alias: str(connections[alias].settings_dict["NAME"])
            for alias in connections
            if connections[alias].settings_dict.get("NAME")
        },
        "tasks": tasks,
    }
    path = [entry for entry in sys.path if entry and os.path.isdir(entry)]
    return {
        **os.environ,
        SETTINGS_VARIABLE: WORKER_SETTINGS,
        ENVIRONMENT_VARIABLE: json.dumps(worker),
        "PYTHONPATH": os.pathsep.join(path),
    }


class CommandProcess:
    """A command running in a process of its own (forked by a Launcher, or a Popen), its
    output in a file."""

    def __init__(
        self, process: "Launched | subprocess.Popen[bytes]", argv: Sequence[str], log: Path
    ) -> None:
        self.process = process
        self.argv = list(argv)
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), or None while it runs."""
        if isinstance(self.process, subprocess.Popen):
            return self.process.poll()
        return self.process.returncode

    def running(self) -> bool:
        return self.returncode is None

    def send_signal(self, number: int) -> None:
        if self.running():
            self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        """Wait for the command to exit; raise TimeoutError after ``timeout`` seconds."""
        if isinstance(self.process, subprocess.Popen):
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError(
                    f"Process {self.pid} did not exit within {timeout:g}s."
                ) from None
        return self.process.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (a worker finishes its running tasks and exits), then SIGKILL if it hangs."""
        if not self.running():
            return
        self.send_signal(signal.SIGTERM)
        try:
            self.wait(timeout)
        except TimeoutError:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, and wait for the process to go."""
        self.send_signal(signal.SIGKILL)
        self.wait(STOP_TIMEOUT)

    def output(self, tail: int | None = OUTPUT_TAIL) -> str:
        """What the command wrote so far (its last ``tail`` characters; all with None)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text if tail is None or len(text) <= tail else f"...{text[-tail:]}"

    def describe(self) -> str:
        return f"'{' '.join(self.argv)}' (pid {self.pid})"


# --- The launcher process ------------------------------------------------------------------------


def main(preload: list[str]) -> None:
    import django
    from django.db import connections

    django.setup()
    for module in preload:
        importlib.import_module(module)
    connections.close_all()  # None should be open; a forked child must not share one.
    _say(READY)
    children: set[int] = set()
    buffer = b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.005 if children else None)
        if readable:
            chunk = os.read(0, 65536)
            if not chunk:
                break  # The harness closed our stdin: stop.
            buffer += chunk
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                pid = _fork(json.loads(line))
                children.add(pid)
                _say(f"started {pid}")
        _reap(children)
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    while children:
        children.discard(os.waitpid(-1, 0)[0])


def _fork(request: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        output = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        from django.core.management import ManagementUtility

        ManagementUtility(["django-admin", *request["argv"]]).execute()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # Reported in the log; the exit status says it failed.
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(children: set[int]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        children.discard(pid)
        _say(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


def _say(message: str) -> None:
    os.write(1, f"{message}\n".encode())


if __name__ == "__main__":
    main(sys.argv[1:])
