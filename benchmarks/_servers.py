"""Start peer servers on loopback, wait until they answer, read their peak memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    command: list[str]
    query_path: str
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.query_path}"

    def start(self, timeout: float = 600) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log,
                                            env={**os.environ, **self.env})
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            try:
                response = httpx.get(self.endpoint, params={"query": "ASK {}"}, timeout=2,
                                     headers={"Accept": "application/sparql-results+json"})
                if response.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start in {timeout} s")

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def semtwin_server(store: Path | str, log: Path, *extra: str) -> Server:
    """A `semtwin serve` on a free port; ``store`` is a directory or a remote location."""
    port = free_port()
    return Server("semtwin", [sys.executable, "-m", "semtwin", "serve", "--store", str(store),
                              "--port", str(port), "--log-level", "WARNING", *extra],
                  "/sparql", port, log)


def oxigraph_server(store: Path, log: Path) -> Server:
    port = free_port()
    binary = Path(sys.executable).with_name("oxigraph")
    return Server("oxigraph serve", [str(binary), "serve", "--location", str(store), "--bind",
                                     f"127.0.0.1:{port}", "--union-default-graph"],
                  "/query", port, log)


def rdflib_endpoint_server(data: Path, log: Path) -> Server:
    port = free_port()
    binary = Path(sys.executable).with_name("rdflib-endpoint")
    return Server("rdflib-endpoint", [str(binary), "serve", "--host", "127.0.0.1", "--port",
                                      str(port), str(data)], "/", port, log)


VIRTUOSO_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "virtuoso.sh"


@contextmanager
def fresh_virtuoso(work: Path, buffers: int = 170_000) -> Iterator[str]:
    """A throwaway Virtuoso of its own (directory and ports; ``scripts/virtuoso.sh``, which
    installs the Debian package if needed), empty at start, stopped at the end. Yields its
    ``--store`` location. A test Virtuoso that may be running is left alone."""
    env = {**os.environ, "VIRTUOSO_DIR": str((work / "virtuoso").resolve()),
           "VIRTUOSO_SQL_PORT": str(free_port()), "VIRTUOSO_HTTP_PORT": str(free_port()),
           "VIRTUOSO_BUFFERS": str(buffers)}
    started = subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "start"], env=env, text=True,
                             capture_output=True, stdin=subprocess.DEVNULL)
    if started.returncode != 0:
        raise RuntimeError(f"Virtuoso did not start: {started.stderr.strip()}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "stop"], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL)


@contextmanager
def loaded_remote_store(work: Path, nquads: Path, backend: str) -> Iterator[tuple[str, float]]:
    """A remote store holding an N-Quads file, running: yields its ``--store`` location and
    the load time in seconds (``oxigraph load`` for Oxigraph server, semtwin's bulk load over
    SPARQL Update for a throwaway Virtuoso). Stopped at the end."""
    import shutil

    if backend == "virtuoso":
        from semtwin.rdf import RdfFormat
        from semtwin.settings import Settings
        from semtwin.store import open_store

        with fresh_virtuoso(work) as location:
            store = open_store(Settings(store=location))
            began = time.perf_counter()
            with nquads.open("rb") as stream:
                store.bulk_load(stream, RdfFormat.N_QUADS)
            load_s = time.perf_counter() - began
            store.close()
            yield location, load_s
        return
    directory = work / f"oxigraph-{nquads.stem}"
    shutil.rmtree(directory, ignore_errors=True)
    binary = str(Path(sys.executable).with_name("oxigraph"))
    began = time.perf_counter()
    subprocess.run([binary, "load", "--location", str(directory), "--file", str(nquads)],
                   check=True, capture_output=True)
    load_s = time.perf_counter() - began
    port = free_port()
    server = Server("oxigraph store", [binary, "serve", "--location", str(directory), "--bind",
                                       f"127.0.0.1:{port}"], "/query", port,
                    work / f"oxigraph-{nquads.stem}.log").start()
    try:
        yield f"oxigraph+http://127.0.0.1:{port}", load_s
    finally:
        server.stop()


def minimal_server(store: Path, log: Path, *, layout: bool = False) -> Server:
    """``benchmarks.minimal_server``: the single-process ceiling for light queries and
    creates; with ``layout``, creates that write what semtwin's pipeline writes."""
    port = free_port()
    return Server("minimal ASGI", [sys.executable, "-m", "benchmarks.minimal_server",
                                   str(store), str(port), *(["layout"] if layout else [])],
                  "/sparql", port, log)
