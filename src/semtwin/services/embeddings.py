"""Optional semantic matching of entity names: a static word-embedding model whose weights
ship inside the ``wordllama`` wheel (``pip install semtwin[embeddings]``), so nothing is
downloaded at run time. An entity is embedded from its names and its types' names; a query
is compared with every entity by cosine similarity (one matrix product)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from semtwin.errors import SemtwinError
from semtwin.services.lexical import Entity, local_name, tokenize


class _Model(Protocol):
    def embed(self, texts: list[str], norm: bool = ...) -> Any: ...


def load_model() -> _Model:
    """WordLlama's default model (l2_supercat, 256 dimensions) from the files in the wheel;
    ``WordLlama.load()`` would look for the tokenizer in the wrong folder and download it."""
    try:
        import wordllama
        from safetensors import safe_open
        from wordllama import WordLlama
        from wordllama.inference import WordLlamaInference
    except ImportError as err:
        raise SemtwinError("SEMTWIN_GROUNDING_EMBEDDINGS needs the optional extra: "
                           f"pip install 'semtwin[embeddings]' ({err})") from None
    root = Path(wordllama.__file__).parent
    tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np") as f:
        weights = f.get_tensor("embedding.weight")
    return WordLlamaInference(weights, tokenizer)  # type: ignore[no-any-return]


def entity_text(entity: Entity) -> str:
    names = dict.fromkeys([*entity.labels, " ".join(tokenize(local_name(entity.iri)))])
    kinds = dict.fromkeys(" ".join(tokenize(local_name(t))) for t in entity.types)
    return "; ".join(names) + (f" ({', '.join(kinds)})" if kinds else "")


class SemanticIndex:
    """Unit vectors of entities, one row each, updated in place."""

    def __init__(self, model: _Model) -> None:
        self._model = model
        self._row: dict[str, int] = {}
        self._iris: list[str | None] = []
        self._free: list[int] = []
        self._vectors: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        vectors = np.asarray(self._model.embed(texts, norm=True), dtype=np.float32)
        return vectors.reshape(len(texts), -1)

    def put_all(self, entities: list[Entity]) -> None:
        for start in range(0, len(entities), 4096):
            chunk = entities[start:start + 4096]
            vectors = self._embed([entity_text(e) for e in chunk])
            for entity, vector in zip(chunk, vectors, strict=True):
                self._place(entity.iri, vector)

    def put(self, entity: Entity) -> None:
        self.put_all([entity])

    def _place(self, iri: str, vector: npt.NDArray[np.float32]) -> None:
        if not self._vectors.size:
            self._vectors = np.zeros((1024, len(vector)), dtype=np.float32)
        row = self._row.get(iri)
        if row is None:
            row = self._free.pop() if self._free else len(self._iris)
            if row == len(self._iris):
                self._iris.append(iri)
            self._iris[row] = iri
            self._row[iri] = row
        if row >= len(self._vectors):
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
        self._vectors[row] = vector

    def remove(self, iri: str) -> None:
        row = self._row.pop(iri, None)
        if row is not None:
            self._vectors[row] = 0
            self._iris[row] = None
            self._free.append(row)

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        if not self._row or not text.strip():
            return []
        query = self._embed([text])[0]
        sims = self._vectors[:len(self._iris)] @ query
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        ranked = sorted(top.tolist(), key=lambda r: -float(sims[r]))
        return [(iri, float(sims[r])) for r in ranked if (iri := self._iris[r]) is not None]
