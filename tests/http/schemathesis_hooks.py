"""Schemathesis hooks for ``test_schemathesis_finds_no_server_error``: SPARQL and TriG
request bodies (documented with examples in the OpenAPI document) are sent as text."""

import schemathesis

schemathesis.serializer.alias(
    ["application/sparql-query", "application/sparql-update", "application/trig"],
    "text/plain")
