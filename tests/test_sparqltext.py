from __future__ import annotations

import pytest

from semtwin.errors import InvalidInput
from semtwin.sparqltext import add_using_clauses


def test_using_goes_before_each_top_level_where() -> None:
    update = (
        'PREFIX ex: <http://e/> INSERT { ?s ex:where "WHERE { }" } WHERE { ?s ?p ?o . '
        "{ SELECT ?s WHERE { ?s ?p ?o } } } ; DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"
    )
    out = add_using_clauses(update, ["http://g/1"], ["http://g/2"])
    assert out.count("USING <http://g/1> USING NAMED <http://g/2> WHERE") == 2
    assert '"WHERE { }"' in out
    assert "SELECT ?s WHERE" in out


def test_delete_where_shorthand_is_left_alone() -> None:
    assert add_using_clauses("DELETE WHERE { ?s ?p ?o }", ["http://g"], []) == (
        "DELETE WHERE { ?s ?p ?o }"
    )


@pytest.mark.parametrize("keyword", ["USING <http://x>", "WITH <http://x>"])
def test_conflict_with_request_dataset(keyword: str) -> None:
    update = f"DELETE {{ ?s ?p ?o }} {keyword} WHERE {{ ?s ?p ?o }}"
    if keyword.startswith("WITH"):
        update = "WITH <http://x> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"
    with pytest.raises(InvalidInput):
        add_using_clauses(update, ["http://g"], [])
