"""Hostile AASX packages through the real server: a ZIP bomb, a DTD in a part, a part BaSyx
cannot read. Each is refused with a 422 that says why, nothing is written, and the server's
memory does not follow what a package unpacks to."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import ServerProcess, free_port

from semtwin.mappings.aas import MAX_UNPACKED_BYTES

TIMEOUT = httpx.Timeout(120.0)
MANUAL = "/aasx/files/manual.bin"


def _package(tag: str, manual_bytes: int = 16,
             edit_part: dict[str, bytes] | None = None) -> bytes:
    """An AASX written by BaSyx (one shell, one submodel with a File), its supplementary file
    replaced by ``manual_bytes`` zeros streamed into the ZIP (they pack about 1000:1)."""
    from basyx.aas import model
    from basyx.aas.adapter import aasx

    store: model.DictObjectStore = model.DictObjectStore()  # type: ignore[type-arg]
    submodel = model.Submodel(f"https://ex.org/sm/{tag}", id_short="Docs", submodel_element=[
        model.File(id_short="Manual", content_type="application/octet-stream", value=MANUAL)])
    shell = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id=f"https://ex.org/asset/{tag}"),
        f"https://ex.org/aas/{tag}", id_short="Pump",
        submodel={model.ModelReference.from_referable(submodel)})
    store.add(shell)
    store.add(submodel)
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    files.add_file(MANUAL, io.BytesIO(b"small"), "application/octet-stream")
    written = io.BytesIO()
    with aasx.AASXWriter(written) as writer:
        writer.write_aas(f"https://ex.org/aas/{tag}", store, files)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(written.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename == MANUAL.lstrip("/"):
                with target.open(info.filename, "w", force_zip64=True) as stream:
                    left = manual_bytes
                    while left:
                        stream.write(bytes(min(left, 1 << 20)))
                        left -= min(left, 1 << 20)
            else:
                data = source.read(info.filename)
                for name, replacement in (edit_part or {}).items():
                    if info.filename.endswith(name):
                        data = replacement(data) if callable(replacement) else replacement
                target.writestr(info.filename, data)
    return out.getvalue()


def _peak_rss_mb(server: ServerProcess) -> float:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:"))) / 1024


def _head(server: ServerProcess) -> int:
    return int(httpx.get(f"{server.url}/api/v1/events",
                         params={"after": 0, "limit": 1}).json()["last"])


@pytest.fixture(scope="module")
def aas_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("aasx")
    server = ServerProcess(store=str(directory / "db"), port=free_port(),
                           log_path=directory / "server.log").start()
    yield server
    server.stop()


def _import(server: ServerProcess, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/import/aas", params={"name": name}, content=data,
                      timeout=TIMEOUT)


def test_a_big_supplementary_file_is_read_through_not_held(aas_server: ServerProcess) -> None:
    """300 MiB of zeros in a 300 KB package: imported, and the server's peak memory grows by
    far less than that (supplementary files are not stored; they were held in memory)."""
    before = _peak_rss_mb(aas_server)
    answer = _import(aas_server, "big.aasx", _package("big", manual_bytes=300 << 20))
    assert answer.status_code == 201, answer.text
    assert answer.json()["submodels"] == 1
    assert _peak_rss_mb(aas_server) - before < 100


def test_a_zip_bomb_is_refused_before_it_unpacks(aas_server: ServerProcess) -> None:
    bomb = _package("bomb", manual_bytes=MAX_UNPACKED_BYTES + (8 << 20))
    assert len(bomb) < 8 << 20  # over 200:1
    before, head = _peak_rss_mb(aas_server), _head(aas_server)
    answer = _import(aas_server, "bomb.aasx", bomb)
    assert answer.status_code == 422
    assert "would unpack to" in answer.json()["detail"]
    assert _peak_rss_mb(aas_server) - before < 100
    assert _head(aas_server) == head


@pytest.mark.parametrize(("edit", "reason"), [
    # an external entity in the AAS part (a local file's content would land in the graph)
    ({"data.xml": lambda xml: xml.replace(
        b"?>", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>', 1).replace(
        b"https://ex.org/asset/dtd", b"https://ex.org/asset/&e;")}, "declares a DTD"),
    ({"_rels/.rels": lambda xml: xml.replace(
        b"?>", b'?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', 1)}, "declares a DTD"),
    # an AAS part BaSyx cannot read: refused, not imported as an empty package
    ({"data.xml": lambda xml: xml.replace(b"</aas:environment>", b"")}, "not a valid AAS"),
    ({"data.xml": lambda xml: xml.replace(b"<aas:id>https://ex.org/sm/dtd</aas:id>", b"")},
     "not a valid AAS"),
])
def test_hostile_or_broken_parts_are_refused(aas_server: ServerProcess, edit: dict[str, bytes],
                                             reason: str) -> None:
    head = _head(aas_server)
    answer = _import(aas_server, "part.aasx", _package("dtd", edit_part=edit))
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]
    assert _head(aas_server) == head  # nothing written, no event
    found = httpx.get(f"{aas_server.url}/sparql", params={
        "query": "ASK { GRAPH ?g { <https://ex.org/aas/dtd> ?p ?o } }"},
        headers={"Accept": "application/sparql-results+json"})
    assert found.json()["boolean"] is False
