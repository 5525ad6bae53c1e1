"""A BM25 index over entity names that is updated in place on every write and scores a
query with numpy over whole posting lists, so a word shared by a hundred thousand entities
("sensor", "room") costs a vector operation rather than a Python loop."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"[A-Za-z]+|[0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
K1, B = 1.2, 0.75
EXACT_BONUS = 10.0  # the whole text is one of the entity's names


def tokenize(text: str) -> list[str]:
    return [w.lower() for part in _CAMEL.split(text) for w in _WORD.findall(part)]


def name_keys(name: str) -> tuple[str, str]:
    """A name as words ("climate control room") and run together ("climatecontrolroom"),
    so that either way of writing it matches exactly."""
    words = tokenize(name)
    return " ".join(words), "".join(words)


def local_name(iri: str) -> str:
    return re.split(r"[#/:]", iri.rstrip("/#"))[-1].split(";")[0]


@dataclass
class Entity:
    iri: str
    labels: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """Its labels, and its IRI's local name unless that is only digits (``.../point/0``
        does not make the entity's name "0")."""
        name = local_name(self.iri)
        return [name, *self.labels] if re.search("[A-Za-z]", name) else list(self.labels)

    def terms(self) -> list[str]:
        return [w for name in [local_name(self.iri), *self.labels] for w in tokenize(name)]

    def label(self) -> str:
        return self.labels[0] if self.labels else local_name(self.iri)


@dataclass(frozen=True)
class Match:
    iri: str
    label: str
    types: list[str]
    score: float
    why: list[str]

    def json(self) -> dict[str, Any]:
        return {"iri": self.iri, "label": self.label, "types": self.types,
                "score": round(self.score, 4), "why": self.why}


class _Postings:
    """Documents per key as a dict (cheap to change) with a numpy copy made on first use
    after a change (cheap to score)."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[int, int]] = defaultdict(dict)
        self._arrays: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}

    def add(self, key: str, doc: int, count: int) -> None:
        self._docs[key][doc] = count
        self._arrays.pop(key, None)

    def discard(self, key: str, doc: int) -> None:
        docs = self._docs.get(key)
        if docs is not None and docs.pop(doc, None) is not None:
            self._arrays.pop(key, None)
            if not docs:
                del self._docs[key]

    def size(self, key: str) -> int:
        return len(self._docs.get(key, ()))

    def has(self, key: str, doc: int) -> bool:
        return doc in self._docs.get(key, ())

    def arrays(self, key: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        cached = self._arrays.get(key)
        if cached is None:
            docs = self._docs.get(key, {})
            cached = (np.fromiter(docs.keys(), dtype=np.int64, count=len(docs)),
                      np.fromiter(docs.values(), dtype=np.float32, count=len(docs)))
            self._arrays[key] = cached
        return cached

    def docs(self, key: str, most: int) -> list[int]:
        return list(islice(self._docs.get(key, ()), most))


def _top(scores: npt.NDArray[np.float32], k: int) -> list[int]:
    """The ``k`` best positive scores, level by level from the highest; among equal scores
    at the cut, the first documents. Repeated labels make huge ties, on which numpy's
    selection (``argpartition``, ``partition``) degrades to tens of milliseconds; there are
    at most ``k`` levels to walk, each one pass over the matches."""
    candidates = np.flatnonzero(scores)
    values = scores[candidates]
    out: list[int] = []
    while len(out) < k and len(values):
        best = values.max()
        at = values == best
        out += candidates[at][:k - len(out)].tolist()
        candidates, values = candidates[~at], values[~at]
    return out


class LexicalIndex:
    """BM25 over each entity's labels and IRI local name, plus exact-name matches."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.type_counts: Counter[str] = Counter()
        self._doc: dict[str, int] = {}
        self._iris: list[str | None] = []
        self._free: list[int] = []
        self._lengths = np.zeros(1024, dtype=np.float32)
        self._total_length = 0
        self._terms = _Postings()
        self._exact = _Postings()

    def __len__(self) -> int:
        return len(self.entities)

    def put(self, entity: Entity) -> None:
        self.remove(entity.iri)
        terms = entity.terms()
        if not terms:
            return
        doc = self._free.pop() if self._free else len(self._iris)
        if doc == len(self._iris):
            self._iris.append(entity.iri)
            if doc >= len(self._lengths):
                self._lengths = np.concatenate([self._lengths, np.zeros_like(self._lengths)])
        else:
            self._iris[doc] = entity.iri
        self._doc[entity.iri] = doc
        self.entities[entity.iri] = entity
        self.type_counts.update(entity.types)
        self._lengths[doc] = len(terms)
        self._total_length += len(terms)
        for term, count in Counter(terms).items():
            self._terms.add(term, doc, count)
        for name in entity.names():
            for key in name_keys(name):
                self._exact.add(key, doc, 1)

    def remove(self, iri: str) -> None:
        entity = self.entities.pop(iri, None)
        if entity is None:
            return
        doc = self._doc.pop(iri)
        for type_iri in entity.types:
            self.type_counts[type_iri] -= 1
            if self.type_counts[type_iri] <= 0:
                del self.type_counts[type_iri]
        for term in set(entity.terms()):
            self._terms.discard(term, doc)
        for name in entity.names():
            for key in name_keys(name):
                self._exact.discard(key, doc)
        self._total_length -= int(self._lengths[doc])
        self._lengths[doc] = 0
        self._iris[doc] = None
        self._free.append(doc)

    def search(self, text: str, k: int) -> list[Match]:
        query = list(dict.fromkeys(tokenize(text)))
        n = len(self.entities)
        if not query or not n:
            return []
        scores = np.zeros(len(self._iris), dtype=np.float32)
        average = self._total_length / n
        for term in query:
            size = self._terms.size(term)
            if not size:
                continue
            docs, tf = self._terms.arrays(term)
            idf = math.log(1 + (n - size + 0.5) / (size + 0.5))
            norm = K1 * (1 - B + B * self._lengths[docs] / average)
            scores[docs] += idf * tf * (K1 + 1) / (tf + norm)
        for key in set(name_keys(text)):
            docs, _ = self._exact.arrays(key)
            scores[docs] += EXACT_BONUS
        ranked = sorted(_top(scores, k), key=lambda d: (-float(scores[d]), self._iris[d]))
        out = []
        for doc in ranked:
            iri = self._iris[doc]
            assert iri is not None
            entity = self.entities[iri]
            why = [term for term in query if self._terms.has(term, doc)]
            if any(self._exact.has(key, doc) for key in set(name_keys(text))):
                why.append("exact name")
            out.append(Match(iri, entity.label(), entity.types, float(scores[doc]), why))
        return out

    def named(self, key: str, most: int) -> tuple[list[str], int]:
        """Up to ``most`` IRIs (the first indexed) of the entities one of whose names is
        exactly ``key`` (as words), and how many there are."""
        docs = self._exact.docs(key, most)
        iris = sorted(iri for doc in docs if (iri := self._iris[doc]) is not None)
        return iris, self._exact.size(key)

    def mentions(self, text: str, most: int = 20) -> list[dict[str, Any]]:
        """Spans of the text (up to four words) that are exactly an entity's name, with up
        to ``most`` IRIs each (``more`` says how many were left out)."""
        words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[\w-]+", text)]
        spans = []
        i = 0
        while i < len(words):
            for size in (4, 3, 2, 1):
                chunk = words[i:i + size]
                if len(chunk) < size:
                    continue
                key = " ".join(t for w in chunk for t in tokenize(w[0]))
                found, count = self.named(key, most)
                if found:
                    spans.append({"start": chunk[0][1], "end": chunk[-1][2],
                                  "text": text[chunk[0][1]:chunk[-1][2]],
                                  "iris": found, "more": count - len(found)})
                    i += size
                    break
            else:
                i += 1
        return spans
