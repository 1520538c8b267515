"""A network path between worker processes and a database server that a test can cut the way a
failing network does: packets vanish, and neither end hears a reset.

The worker runs in a network namespace of its own, linked to this host by a veth pair; a
forwarder in the test process, on this host's end of the pair, relays its connections to the
database server (which listens on 127.0.0.1 only). ``cut()`` takes this host's end of the
pair down: the namespace's end stays up, so the worker's packets are sent and silently
dropped, and nothing comes back; ``restore()`` brings it up again. Real TCP, real kernel
timers: keepalives and retransmissions go unanswered, as on a dead network.

Creating namespaces needs root and iproute2 (``ip``); the test fails saying so if either is
missing.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from itertools import count
from pathlib import Path

_numbers = count()


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


class Forwarder:
    """Relays each connection made to ``address`` (chosen here) to ``target``."""

    def __init__(self, host: str, target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server((host, 0))
        self.address: tuple[str, int] = self._server.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="forwarder").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # Closed.
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, destination in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, destination), daemon=True).start()

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, destination):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for end in self._sockets:
                with contextlib.suppress(OSError):  # Wakes the thread that reads it.
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


class DeadPath:
    """A network namespace for worker processes, and forwarders from it to database servers;
    see the module docstring."""

    def __init__(self) -> None:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise AssertionError(
                "This test cuts a network path with a network namespace: it needs root and "
                "iproute2 ('ip'), to create one and a veth pair."
            )
        self.namespace = ""
        self._forwarders: list[Forwarder] = []
        for _ in range(20):  # Another test run on this machine may hold a number.
            number = (os.getpid() * 7 + next(_numbers)) % 16000
            try:
                self._create(number)
                return
            except subprocess.CalledProcessError:
                self._delete()
        raise AssertionError("Could not create a network namespace and a veth pair.")

    def _create(self, number: int) -> None:
        self.namespace = f"django-tasks-test-{number}"
        self._host_link, inside = f"dth{number}", f"dtn{number}"
        subnet = f"10.{200 + number // 4096}.{number % 4096 // 16}.{number % 16 * 16}"
        prefix = subnet.rsplit(".", 1)[0]
        last = int(subnet.rsplit(".", 1)[1])
        self.host_address = f"{prefix}.{last + 1}"
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self._host_link, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", self.namespace)
        _ip("addr", "add", f"{self.host_address}/28", "dev", self._host_link)
        _ip("link", "set", self._host_link, "up")
        inner = ("netns", "exec", self.namespace, "ip")
        _ip(*inner, "addr", "add", f"{prefix}.{last + 2}/28", "dev", inside)
        _ip(*inner, "link", "set", inside, "up")
        _ip(*inner, "link", "set", "lo", "up")
        # The namespace knows this host's link address for good, so that a cut drops packets
        # on the link (as a dead router would) rather than failing their address resolution.
        mac = Path(f"/sys/class/net/{self._host_link}/address").read_text().strip()
        _ip(*inner, "neigh", "replace", self.host_address, "lladdr", mac, "dev", inside)

    @property
    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.namespace]

    def forward(self, target: tuple[str, int]) -> tuple[str, int]:
        """The address, reachable from inside the namespace, that leads to ``target``."""
        forwarder = Forwarder(self.host_address, target)
        self._forwarders.append(forwarder)
        return forwarder.address

    def cut(self) -> None:
        """Drop every packet between the namespace and this host, without a reset."""
        _ip("link", "set", self._host_link, "down")

    def restore(self) -> None:
        _ip("link", "set", self._host_link, "up")

    def close(self) -> None:
        for forwarder in self._forwarders:
            forwarder.close()
        self._delete()

    def _delete(self) -> None:
        if self.namespace:  # Deleting the namespace deletes the veth pair.
            subprocess.run(["ip", "netns", "delete", self.namespace], capture_output=True)


@contextlib.contextmanager
def dead_path() -> Iterator[DeadPath]:
    path = DeadPath()
    try:
        yield path
    finally:
        path.close()
