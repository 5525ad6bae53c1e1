"""The single-process ceiling for light queries: the least a Python SPARQL endpoint over an
embedded pyoxigraph store can do per request.

A raw ASGI app on uvicorn (uvloop, httptools) that parses ``?query=``, asks pyoxigraph and
returns its own SPARQL JSON serialization: no routing, no access check, no content
negotiation, no deadline, no row cap, no logging. It answers every query on the event loop
(a heavy one blocks the others), so the benchmark times it on light queries only. It is a
yardstick for what the Python HTTP stack and the engine cost together, not a server to use.

    python -m benchmarks.minimal_server STORE_DIR PORT
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph
import uvicorn


def build_app(store: pyoxigraph.Store) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        status, media_type, body = 200, b"application/sparql-results+json", b""
        try:
            result = store.query(params.get("query", ""), use_default_graph_as_union=True)
            if isinstance(result, pyoxigraph.QueryTriples):
                media_type = b"application/n-triples"
                body = result.serialize(format=pyoxigraph.RdfFormat.N_TRIPLES) or b""
            else:
                body = result.serialize(format=pyoxigraph.QueryResultsFormat.JSON) or b""
        except (SyntaxError, ValueError, OSError) as err:
            status, media_type, body = 400, b"text/plain", str(err).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    store_dir, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(build_app(pyoxigraph.Store(store_dir)), host="127.0.0.1", port=port,
                log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
