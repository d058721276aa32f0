"""Run every test and doctest in its own temporary folder, so nothing is written to the checkout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# sb3.py's doctest needs Stable-Baselines3 (the "sb3" extra); tests/test_sb3.py skips without it
collect_ignore = [] if importlib.util.find_spec("stable_baselines3") else ["src/rlvideo/sb3.py"]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
