"""Standards bridges: pure functions from source documents (DTDL, AAS, OPC UA) to RDF quads and
back. Mappings do no I/O beyond reading their declarative tables (the repository's
``mappings/`` folder) and never see the store; the import service runs their output through
the write pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TABLES = Path(__file__).resolve().parents[3] / "mappings"


@dataclass(frozen=True)
class SourceProblem:
    """One problem in a source document: which file, where in it (a JSON pointer, an XPath
    or a line), and why."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        where = f" at {self.where}" if self.where else ""
        return f"{self.file}{where}: {self.message}"


class MappingError(Exception):
    """A source document cannot be mapped; ``problems`` says where and why."""

    def __init__(self, problems: list[SourceProblem]) -> None:
        self.problems = problems
        shown = "; ".join(map(str, problems[:5]))
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(shown + more)


@dataclass
class SourceFile:
    """A named source document (a path or an upload's name) and its bytes."""

    name: str
    data: bytes
