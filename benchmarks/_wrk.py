"""Drive a server with wrk (Debian package ``wrk``) and parse its report."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def run_wrk(endpoint: str, query: str, *, seconds: int, connections: int,
            accept: str = "application/sparql-results+json") -> WrkResult:
    url = f"{endpoint}?{urlencode({'query': query})}"
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
         "-H", f"Accept: {accept}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    """Requests per second, latency percentiles and errors from wrk's --latency report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: .*timeout (\d+)"):
        found = re.search(pattern, out)
        if found:
            errors += int(found.group(1))
    return WrkResult(rps, _ms(p50.group(1)) if p50 else float("nan"),
                     _ms(p99.group(1)) if p99 else float("nan"), errors)


_NEW_IDS = """
local started = 0
local threads = {}
function setup(thread)
  thread:set("tid", started)
  started = started + 1
  table.insert(threads, thread)
end
created = 0
answered = 0
function response(status, headers, body)
  answered = answered + 1
  if status == 201 then created = created + 1 end
end
function done(summary, latency, requests)
  local c, a = 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    a = a + thread:get("answered")
  end
  io.write(string.format("created %d of %d\\n", c, a))
end
"""


def new_ids(script: str) -> str:
    """A wrk script whose ``NEW_ID(counter)`` ids are new to the store: one run, thread and
    counter each. wrk's threads share LuaJIT's unseeded ``math.random`` sequence, so ids drawn
    from it repeat across threads and runs, and half of a run's creates (all of a second
    run's) were replaces. The script also counts the answers that created (201), which
    ``require_created`` reads from wrk's report."""
    run = uuid.uuid4().hex[:12]
    helper = f'function NEW_ID(prefix, n) return prefix .. "-{run}-" .. tid .. "-" .. n end\n'
    return _NEW_IDS + helper + script


def require_created(out: str) -> None:
    """Raise unless every answer in the report of a ``new_ids`` script created (201): a
    create cell must not time replaces."""
    found = re.search(r"created (\d+) of (\d+)", out)
    if found is None:
        raise ValueError("wrk's report has no count of created twins")
    created, answered = int(found.group(1)), int(found.group(2))
    if created != answered:
        raise RuntimeError(f"only {created} of {answered} creates created a twin")
