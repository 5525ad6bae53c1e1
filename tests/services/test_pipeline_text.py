"""Pure parts of the write pipeline."""

from __future__ import annotations

import pytest

from semtwin.services.pipeline import canonical_time


@pytest.mark.parametrize(
    ("stored", "canonical"),
    [
        ("2026-11-25T19:14:02.146900Z", "2026-11-25T19:14:02.1469Z"),  # Virtuoso pads
        ("2026-11-25T19:14:02.1469Z", "2026-11-25T19:14:02.1469Z"),  # Oxigraph trims
        ("2026-11-25T19:14:02.000000+00:00", "2026-11-25T19:14:02Z"),
        ("2026-11-25T20:14:02.5+01:00", "2026-11-25T19:14:02.5Z"),
    ],
)
def test_canonical_time(stored: str, canonical: str) -> None:
    assert canonical_time(stored) == canonical
