"""Demo data for `make run`: what a new user sees after the first start."""

from __future__ import annotations


def load_demo_data(sandbox_url: str) -> list[str]:
    """Create (or refresh) the demo records and return lines describing them for the start banner."""
    return []
