"""An error no layer expected is a problem+json 500 with the request id, through every door:
the fast paths in front of FastAPI as well as its routes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from semtwin.http.app import create_app
from semtwin.runtime import Semtwin
from semtwin.settings import Settings


def test_unexpected_errors_are_problems_with_the_request_id(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    runtime = Semtwin.open(Settings(store=str(tmp_path / "db")))
    app = create_app(runtime)
    # the twin by id and a repeated query are answered in front of FastAPI, the listing by a
    # FastAPI route: the store failing under each must give the same kind of answer
    paths = ["/api/v1/twins/pump-1", "/sparql?query=ASK%7B%7D", "/api/v1/twins"]

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await client.put("/api/v1/twins/pump-1", json={"properties": {}})
            assert created.status_code == 201
            for _ in range(8):  # the query is proven fast and goes to the fast path
                assert (await client.get(paths[1])).status_code == 200
            assert (await client.get(paths[0])).status_code == 200
            runtime.store.close()  # the store fails under the running app
            return [await client.get(path, headers={"X-Request-Id": f"req-{i}"})
                    for i, path in enumerate(paths)]

    with caplog.at_level(logging.ERROR, logger="semtwin.http"):
        answers = asyncio.run(scenario())
    for i, answer in enumerate(answers):
        assert answer.status_code == 500, paths[i]
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["x-request-id"] == f"req-{i}"
        problem = answer.json()
        assert problem["status"] == 500 and problem["request_id"] == f"req-{i}"
        assert "Traceback" not in answer.text
    # each failure logged once, with its traceback, by whichever layer answered it
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert len(logged) == len(paths)
    assert all(r.exc_info is not None for r in logged)
