"""The W3C SHACL test suite (``../shared/data/shacl/w3c-test-suite``) through semtwin's
validator: every core test must pass; every SHACL-SPARQL test must pass too, except the
ones using what semtwin does not evaluate (custom SPARQL-based constraint components,
``$shapesGraph``), which must be reported as unsupported, never silently pass."""

from __future__ import annotations

import pytest
from tests.shacl.w3c import W3cTest, all_tests

CORE = all_tests("core")
SPARQL = all_tests("sparql")


def test_the_suite_is_there() -> None:
    assert len(CORE) >= 95
    assert len(SPARQL) >= 20


# What semtwin does not evaluate, and says so in the report's ``unsupported``.
UNSUPPORTED_SPARQL = {
    "sparql/component/optional-001": "custom SPARQL-based constraint component",
    "sparql/component/propertyValidator-select-001": "custom SPARQL-based constraint component",
    "sparql/component/validator-001": "custom SPARQL-based constraint component",
    "sparql/pre-binding/unsupported-sparql-006": "custom SPARQL-based constraint component",
    "sparql/pre-binding/shapesGraph-001": "$shapesGraph (the shapes graph is not queried)",
}


@pytest.mark.parametrize("case", CORE + SPARQL, ids=[t.name for t in CORE + SPARQL])
def test_w3c_case(case: W3cTest) -> None:
    conforms, keys, unsupported = case.run()
    if case.name in UNSUPPORTED_SPARQL:
        assert unsupported, "a constraint was skipped without saying so"
        return
    if case.expect_failure:
        assert conforms is None, "a malformed shapes graph must be refused"
        return
    assert not unsupported
    assert conforms == case.conforms
    assert keys == case.expected


@pytest.mark.parametrize("case", SPARQL, ids=[t.name for t in SPARQL])
def test_w3c_sparql_case_on_a_store(case: W3cTest) -> None:
    """Every SHACL-SPARQL test gives the same report when its data is read from a store,
    where each query runs on a copy of its footprint at each focus node
    (``semtwin.shacl.footprint``): every query of the suite has one."""
    conforms, keys, unsupported = case.run(on_store=True)
    if case.name in UNSUPPORTED_SPARQL:
        assert unsupported, "a constraint was skipped without saying so"
        return
    if case.expect_failure:
        assert conforms is None
        return
    assert not unsupported
    assert conforms == case.conforms
    assert keys == case.expected
