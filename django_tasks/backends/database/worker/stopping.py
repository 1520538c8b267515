"""Stopping at once, even while the worker waits on a database that does not answer.

A signal handler only counts (loop.py), and Python runs it in the main thread between two
steps of Python code; the main thread's loop then decides what to do. A main thread blocked in
a database driver's call, waiting for an answer that a dead network path will never bring,
neither runs the handler nor acts on it until the call ends, however many signals arrive.

So a ``Stopper`` thread watches the signals too, through the pipe the signal module writes each
signal's number to (``signal.set_wakeup_fd``), which it does whatever the main thread is doing.
At each signal it logs it (the main thread may not be able to) and wakes the main thread's
sleep. After the second, it gives the main thread
STOP_NOW_SECONDS to hand its tasks back and exit, as it does when the database answers; past
that, it calls ``give_up`` (which logs what is left behind) and ends the process with status 1:
the tasks not handed back are retaken when their leases expire, as after ``kill -9``.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("django_tasks.worker")

STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)
"""The signals that stop the worker (see the worker package). SIGHUP too: a terminal that
closes sends it, and a worker has no configuration to reload; a supervisor that restarts it
after it exits turns the stop into a reload. SIGQUIT too, as the reference's worker takes it
(Ctrl-\\ in a terminal; some process managers stop with it)."""

STOP_NOW_SECONDS = 2.0
"""How long, after a second signal, the worker may wait on the database to hand its tasks
back before it exits without."""


class Stopper:
    """Watches the signals from a thread of its own; see the module docstring."""

    def __init__(self, wake: Callable[[], None], give_up: Callable[[], None]) -> None:
        self._read, self.wakeup_fd = os.pipe()
        os.set_blocking(self.wakeup_fd, False)  # The signal module needs it so.
        self._wake = wake
        self._give_up = give_up
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="db_worker-stopper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Count a stop request that is not a signal (Worker.stop), from any thread."""
        with contextlib.suppress(BlockingIOError):  # A full pipe has more than two already.
            os.write(self.wakeup_fd, b"\0")

    def close(self) -> None:
        """The worker has stopped: end the thread (once the signal module no longer writes)."""
        self._done.set()
        os.close(self.wakeup_fd)  # The thread reads the end of the pipe, and returns.
        if self._thread.is_alive():
            self._thread.join()
        os.close(self._read)

    def _watch(self) -> None:
        signals = 0
        while signals < 2:
            try:
                received = os.read(self._read, 64)
            except OSError:
                return
            if not received:  # Closed: the worker has stopped.
                return
            for number in received:
                signals += 1
                logger.info("Received %s.", _describe(number))
            self._wake()
        if self._done.wait(STOP_NOW_SECONDS):
            return
        self._give_up()
        logging.shutdown()  # Writes out what the handlers hold.
        with contextlib.suppress(Exception):
            sys.stderr.flush()
            sys.stdout.flush()
        os._exit(1)


def install_signal_handlers(
    on_signal: Callable[[int, FrameType | None], Any], stopper: Stopper
) -> Callable[[], None]:
    """Call ``on_signal`` at each of STOP_SIGNALS, and start ``stopper`` watching them; return
    the function that puts the previous handlers back. Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # Under --reload the reloader owns the signals.
    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS}
    previous_fd = signal.set_wakeup_fd(stopper.wakeup_fd, warn_on_full_buffer=False)
    stopper.start()

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


def _describe(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # Not a signal: Stopper.request().
        return "a request to stop"
