"""Content negotiation: the memoised negotiator answers exactly as the plain function."""

from __future__ import annotations

import itertools

from semtwin.negotiation import Negotiator, best_match

OFFERS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
          "text/tab-separated-values"]
ACCEPTS = [None, "", "*/*", "text/csv", "application/json;q=0.5, text/csv;q=0.9",
           "application/sparql-results+xml, */*;q=0.1", "image/png", "text/*",
           "application/sparql-results+json,*/*;q=0.9", "garbage;;q=x"]


def test_memo_agrees_with_best_match_and_stays_bounded() -> None:
    negotiator = Negotiator(size=4)
    for _ in range(2):  # second round: answers from the memo (and after evictions)
        for accept, offers in itertools.product(ACCEPTS, (OFFERS, OFFERS[::-1], [])):
            assert negotiator.best_match(offers, accept) == best_match(offers, accept)
    assert len(negotiator._memo) <= 4
    assert best_match(OFFERS, "text/*") == "text/csv"
    assert best_match(OFFERS, "image/png") is None
