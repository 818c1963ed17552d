"""Shared fixtures: the real `agkg serve` on a free loopback port, and loopback listeners that
record whether anything connected to them.

`server_url` (session scope) is the base URL, e.g. http://127.0.0.1:41234 ; the SPARQL endpoint is
`server_url + "/sparql"`. The server runs with the bundled data and a settings file that only
shortens the query timeout (3 s, so timeout tests are quick) and allowlists one loopback
listener for SERVICE (`allowed_service`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_TIMEOUT = 3.0


class Listener:
    """A TCP listener on 127.0.0.1 that records each connection's first bytes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    """A fresh loopback listener that must (or must not) see a connection."""
    spy = Listener()
    yield spy
    spy.close()


@pytest.fixture(scope="session")
def allowed_service():
    """The one SERVICE endpoint on the test server's allowlist."""
    spy = Listener()
    yield spy
    spy.close()


def agkg_command() -> list[str]:
    """The `agkg` script of the Python running the tests, else the module."""
    for script in (Path(sys.executable).with_name("agkg"), shutil.which("agkg")):
        if script and Path(script).exists():
            return [str(script)]
    return [sys.executable, "-m", "agkg.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory, allowed_service):
    """The running server: .url, .log (its output file), .process."""
    folder = tmp_path_factory.mktemp("server")
    config = folder / "agkg.toml"
    config.write_text(f'timeout = {TEST_TIMEOUT}\nservice_allowlist = ["{allowed_service.url}"]\n', encoding="utf-8")
    port = _free_port()
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*agkg_command(), "--root", str(ROOT), "serve", "--port", str(port), "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with everything it started
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a cold cache builds the store first
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"agkg serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"agkg serve did not become healthy:\n{log.read_text()}")
        time.sleep(0.1)

    class Server:
        pass

    running = Server()
    running.url, running.log, running.process = url, log, process
    yield running
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def server_url(server) -> str:
    """Base URL of the running agkg server (no trailing slash)."""
    return server.url


@pytest.fixture(scope="session")
def sparql_url(server_url) -> str:
    return server_url + "/sparql"
