"""Shared fixtures: the real `agkg serve` on a free loopback port, and loopback listeners that
record whether anything connected to them.

`server_url` (session scope) is the base URL, e.g. http://127.0.0.1:41234 ; the SPARQL endpoint is
`server_url + "/sparql"`. The server runs with the bundled data and a settings file that only
shortens the query timeout (3 s, so timeout tests are quick) and allowlists one loopback
listener for SERVICE (`allowed_service`). A test module or test marked
`@pytest.mark.backends("embedded", "remote")` runs once against the embedded store and once
against `agkg serve --store` in front of Oxigraph's server (filled with `agkg load --into`).
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


class Server:
    """A running `agkg serve`: .url, .log (its output file), .process."""

    def __init__(self, url: str, log: Path, process: subprocess.Popen):
        self.url, self.log, self.process = url, log, process

    def stop(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_agkg_serve(folder: Path, *args: str, root: Path = ROOT) -> Server:
    """`agkg serve` of the project `root` on a free port with `args`, once its /healthz answers 200."""
    port = _free_port()
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*agkg_command(), "--root", str(root), "serve", "--port", str(port), *args],
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
                    return Server(url, log, process)
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"agkg serve did not become healthy:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def settings_file(tmp_path_factory, allowed_service) -> Path:
    """The test servers' settings: a short query timeout and one allowlisted SERVICE listener."""
    config = tmp_path_factory.mktemp("settings") / "agkg.toml"
    config.write_text(f'timeout = {TEST_TIMEOUT}\nservice_allowlist = ["{allowed_service.url}"]\n', encoding="utf-8")
    return config


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory, settings_file):
    """`agkg serve` answering from its own executors and in-memory store."""
    running = start_agkg_serve(tmp_path_factory.mktemp("server"), "--config", str(settings_file))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory) -> str:
    """Oxigraph's own server (`pip install oxigraph`) on a free port, empty; yields its root URL.

    Its own query timeout (--timeout-s) is twice agkg's, so agkg's limit is the one tests meet."""
    found = [p for p in (Path(sys.executable).with_name("oxigraph"), shutil.which("oxigraph")) if p and Path(p).exists()]
    if not found:
        pytest.skip("Oxigraph's server is not installed: pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("oxigraph")
    port = _free_port()
    with open(folder / "oxigraph.log", "wb") as out:
        process = subprocess.Popen(
            [str(found[0]), "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}",
             "--timeout-s", str(int(2 * TEST_TIMEOUT))],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                raise RuntimeError(f"oxigraph serve did not start:\n{(folder / 'oxigraph.log').read_text()}")
            time.sleep(0.1)
    yield url
    _stop(process)


@pytest.fixture(scope="session")
def remote_server(tmp_path_factory, settings_file, oxigraph):
    """`agkg serve --store` in front of Oxigraph's server, filled with `agkg load --into`."""
    loaded = subprocess.run(
        [*agkg_command(), "--root", str(ROOT), "load", "--into", oxigraph], capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    running = start_agkg_serve(
        tmp_path_factory.mktemp("remote-server"), "--config", str(settings_file), "--store", oxigraph
    )
    yield running
    running.stop()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "backends(*names): run the test once per query backend of the `server` fixture: "
        "embedded (agkg's executors) and/or remote (`agkg serve --store` in front of Oxigraph's server)",
    )


def pytest_generate_tests(metafunc):
    """Tests marked backends("embedded", "remote") run against each server (see `server`)."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker and "server" in metafunc.fixturenames:
        metafunc.parametrize("server", marker.args, indirect=True, scope="session")


@pytest.fixture(scope="session")
def server(request) -> Server:
    """The running server under test: the embedded one, or for tests marked
    `backends(...)` each backend named there in turn."""
    return request.getfixturevalue(f"{getattr(request, 'param', 'embedded')}_server")


@pytest.fixture(scope="session")
def server_url(server) -> str:
    """Base URL of the running agkg server (no trailing slash)."""
    return server.url


@pytest.fixture(scope="session")
def sparql_url(server_url) -> str:
    return server_url + "/sparql"
