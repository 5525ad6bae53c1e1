"""Two imports of the same Asset Administration Shells at once: one is written, the other
refused (409), never both. The second import is forced in where the first has checked its
shells and not yet written them (it used to check outside the write lock)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import shared_data

from semtwin.errors import Conflict
from semtwin.mappings import SourceFile
from semtwin.runtime import Semtwin
from semtwin.services.imports import ImportService
from semtwin.settings import Settings


def test_concurrent_imports_of_the_same_shells(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_data("aas", "templates", "IDTA_02006-3-0-1_Template_Digital_Nameplate.json")
    files = [SourceFile(path.name, path.read_bytes())]
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    try:
        outcomes: list[str] = []

        def other_import() -> None:
            try:
                runtime.imports.run("aas", files)
                outcomes.append("written")
            except Conflict:
                outcomes.append("refused")

        other = threading.Thread(target=other_import)
        planned = ImportService.provenance_changeset

        def changeset_while_another_lands(self: ImportService, *args: Any,
                                          **kwargs: Any) -> Any:
            if not other.is_alive() and other.ident is None:
                other.start()
                other.join(timeout=5)
            return planned(self, *args, **kwargs)

        monkeypatch.setattr(ImportService, "provenance_changeset",
                            changeset_while_another_lands)
        try:
            runtime.imports.run("aas", files)
            outcomes.append("written")
        except Conflict:
            outcomes.append("refused")
        other.join()
        assert sorted(outcomes) == ["refused", "written"]
        graphs = [g.value for g in runtime.store.named_graphs()
                  if g.value.startswith("urn:semtwin:import:")]
        assert len(graphs) == 1
    finally:
        runtime.close()
