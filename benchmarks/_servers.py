"""Start peer servers on loopback, wait until they answer, read their peak memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
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


def semtwin_server(store: Path, log: Path, *extra: str) -> Server:
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
