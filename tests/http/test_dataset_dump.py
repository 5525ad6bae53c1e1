"""``GET /graphs`` serves the whole dataset (N-Quads, TriG) through the real server: every
quad, with its length, streamed from a spool file rather than built in memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from tests.conftest import ServerProcess, free_port

from semtwin.rdf import RdfFormat, parse

QUADS = 200_000


def test_the_whole_dataset_is_served_in_full(tmp_path: Path) -> None:
    data = tmp_path / "data.nq"
    with data.open("w") as out:
        for i in range(QUADS):
            out.write(f'<urn:s:{i}> <urn:p:{i % 7}> "value {i} of the dataset dump test" '
                      f"<urn:g:{i % 13}> .\n")
    store = str(tmp_path / "db")
    subprocess.run([sys.executable, "-m", "semtwin", "load", str(data), "--store", store],
                   check=True, capture_output=True)
    server = ServerProcess(store=store, port=free_port(),
                           log_path=tmp_path / "server.log").start()
    try:
        with httpx.stream("GET", f"{server.url}/graphs", timeout=120,
                          headers={"Accept": "application/n-quads"}) as answer:
            assert answer.status_code == 200
            body = b"".join(answer.iter_bytes())
            assert int(answer.headers["content-length"]) == len(body)
        head = httpx.head(f"{server.url}/graphs", headers={"Accept": "application/n-quads"})
        trig = httpx.get(f"{server.url}/graphs", headers={"Accept": "application/trig"},
                         timeout=120)
    finally:
        server.stop()
    dumped = list(parse(body, format=RdfFormat.N_QUADS))
    ours = [q for q in dumped if q.subject.value.startswith("urn:s:")]  # type: ignore[union-attr]
    assert len(ours) == QUADS  # the store's own graphs (models, journal) come too
    assert len(body) > 12 << 20
    assert int(head.headers["content-length"]) == len(body)
    assert trig.status_code == 200
    assert len(list(parse(trig.content, format=RdfFormat.TRIG))) == len(dumped)
