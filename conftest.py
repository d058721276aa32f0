"""Run every test and doctest in its own temporary folder, so nothing is written to the checkout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# sb3.py and pettingzoo.py have doctests that need their extras ("sb3", "pettingzoo")
collect_ignore = [
    f"src/rlvideo/{module}.py"
    for module, package in (("sb3", "stable_baselines3"), ("pettingzoo", "pettingzoo"))
    if importlib.util.find_spec(package) is None
]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
