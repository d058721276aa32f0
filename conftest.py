"""Run every test and doctest in its own temporary folder, so nothing is written to the checkout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# the SB3, PettingZoo and logger modules have doctests that need their extras
_NEEDS = {
    "sb3": ("stable_baselines3",), "wrappers/sb3": ("stable_baselines3",),
    "pettingzoo": ("pettingzoo",), "wrappers/pettingzoo": ("pettingzoo",),
    "loggers/__init__": ("tensorboard",), "loggers/wandb": ("wandb",),
    "loggers/tensorboard": ("tensorboard", "torch"), "loggers/mlflow": ("mlflow",),
    "rllib": ("ray", "tree"),  # RLlib (dm_tree's tree): in .venv-rllib, which runs tests/rllib
}  # fmt: skip
collect_ignore = [
    f"src/rlvideo/{module}.py"
    for module, packages in _NEEDS.items()
    if any(importlib.util.find_spec(package) is None for package in packages)
]
if any(importlib.util.find_spec(package) is None for package in _NEEDS["rllib"]):
    collect_ignore.append("tests/rllib")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
