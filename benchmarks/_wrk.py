"""Drive a server with wrk (Debian package ``wrk``) and parse its report."""

from __future__ import annotations

import re
import shutil
import subprocess
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
