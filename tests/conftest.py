"""Shared fixtures: real server processes on loopback, real stores on disk, real data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEMTWIN_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not present: {path}")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A ``semtwin serve`` process on loopback."""

    store: str
    port: int
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    backend: str = "embedded"
    env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        command = [sys.executable, "-m", "semtwin", "serve", "--port", str(self.port),
                   *(["--memory"] if self.store == "memory" else ["--store", self.store]),
                   *self.args]
        env = {**os.environ, **self.env} if self.env else None
        if self.log_path:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        else:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {command}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in time")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Start servers inside a test; every one is stopped at the end."""
    started: list[ServerProcess] = []

    class _Factory(ServerProcess):
        def start(self, timeout: float = 30.0) -> ServerProcess:
            self.log_path = self.log_path or tmp_path / f"server-{self.port}.log"
            started.append(self)
            return super().start(timeout)

    yield _Factory
    for server in started:
        if server.process and server.process.poll() is None:
            server.stop(signal.SIGKILL)


@pytest.fixture(scope="module", params=["embedded", "oxigraph", "virtuoso"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process per test module and backend: the embedded store on disk, or a
    remote Oxigraph server or Virtuoso behind it."""
    directory = tmp_path_factory.mktemp("store")
    if request.param == "embedded":
        location = str(directory / "db")
    elif request.param == "oxigraph":
        location = request.getfixturevalue("oxigraph_server").location
        _clear_remote(location)
    else:
        location = virtuoso_location()
        _clear_remote(location)
    proc = ServerProcess(store=location, port=free_port(), args=("--query-timeout", "3"),
                         log_path=directory / "server.log")
    proc.start()
    proc.backend = request.param
    yield proc
    proc.stop()


# --- store backends -------------------------------------------------------------------------

BACKENDS = ["embedded", "oxigraph", "virtuoso"]


@dataclass
class OxigraphServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def location(self) -> str:
        return f"oxigraph+http://127.0.0.1:{self.port}"

    def start(self) -> OxigraphServer:
        binary = Path(sys.executable).with_name("oxigraph")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--location", str(self.directory), "--bind",
             f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/query",
                             params={"query": "ASK {}"}).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("oxigraph serve did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"), free_port()).start()
    yield server
    server.stop()


def virtuoso_location() -> str:
    """Virtuoso is started by ``.ci/run`` (``scripts/virtuoso.sh start``), which exports
    ``SEMTWIN_TEST_VIRTUOSO``; in CI its absence is a failure, elsewhere a skip."""
    location = os.environ.get("SEMTWIN_TEST_VIRTUOSO")
    if not location:
        if os.environ.get("CI"):
            pytest.fail("CI must start Virtuoso and set SEMTWIN_TEST_VIRTUOSO")
        pytest.skip("Virtuoso not running: start it with scripts/virtuoso.sh start")
    return location


def _clear_remote(location: str) -> None:
    from semtwin.settings import Settings
    from semtwin.store import open_store

    store = open_store(Settings(store=location, remote_union_default_graph="true"))
    try:
        for graph in store.named_graphs():
            store.drop_graph(graph)
        if store.capabilities.extra.get("default_graph", True):
            store.update("CLEAR DEFAULT")  # a store's own default graph (Oxigraph server)
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean store of each backend, as a ``--store`` location."""
    if request.param == "embedded":
        return str(tmp_path / "db")
    if request.param == "oxigraph":
        location: str = request.getfixturevalue("oxigraph_server").location
    else:
        location = virtuoso_location()
    _clear_remote(location)
    return location


# Known deviations of Virtuoso 7.2 (Debian) from SPARQL 1.1 that semtwin passes through
# rather than hides; listed in docs/operations.md. Strict xfail: each test still has to
# fail, so a fix on either side (semtwin or Virtuoso) turns it red and the entry goes.
# Since SPARQL Update runs through the write pipeline (semtwin plans DROP/CLEAR ALL, checks
# graph existence and grounds templates itself), Virtuoso's own update deviations no longer
# show; this one remains. (Blank nodes in INSERT templates failing with SR002 after a DROP
# went when semtwin began writing a graph's statements as one GRAPH block, session 16.)
VIRTUOSO_DEVIATIONS = {
    "put_get_default": "no separately addressable default graph (CLEAR DEFAULT refused)",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "virtuoso" not in item.name:
            continue
        for fragment, reason in VIRTUOSO_DEVIATIONS.items():
            if fragment in item.name:
                item.add_marker(pytest.mark.xfail(reason=f"Virtuoso: {reason}", strict=True))
