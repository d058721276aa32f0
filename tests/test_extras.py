"""Each extra brings what the README's example for it needs, with nothing from the dev extra.

The tests' own environment holds the dev extra, which brings far more than any one extra (SQLAlchemy
for MLflow's default store, for one): an example run there passes even when its extra is short. So
the MLflow example runs in an environment of its own, made by ``make mlflow-venv`` (``make test``
makes it first) with only the extras the example names.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers import decode
from tests.test_readme import ROOT, Block, _python_chains

MLFLOW_VENV = ROOT / os.environ.get("MLFLOW_VENV", ".venv-mlflow")

# Run in the MLflow environment after the example: what the active store holds, as JSON.
LIST_RUNS = """
import json, mlflow
client = mlflow.MlflowClient()
runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
print(json.dumps([
    {
        "tags": run.data.tags,
        "artifacts": {
            item.path: client.download_artifacts(run.info.run_id, item.path, "downloaded")
            for item in client.list_artifacts(run.info.run_id, "videos")
        },
    }
    for run in runs
]))
"""


def _mlflow_example() -> list[Block]:
    """The README's MLflow example: the chain's set-up block, then the block that imports mlflow."""
    for chain in _python_chains():
        for block in chain[1:]:
            if block.code.startswith("import mlflow"):
                return [chain[0], block]
    raise AssertionError("the README has no block starting with `import mlflow`")


@pytest.fixture(scope="module")
def mlflow_python() -> Path:
    """The interpreter of the MLflow-only environment, made (or brought up to date) by make."""
    made = subprocess.run(
        ["make", "--no-print-directory", "mlflow-venv"], cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-3000:]
    return MLFLOW_VENV / "bin" / "python"


def _environment() -> dict[str, str]:
    """The caller's environment without what would reach past the MLflow environment."""
    leaks = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {
        key: value
        for key, value in os.environ.items()
        if key not in leaks and not key.startswith("MLFLOW_")
    }


def test_the_mlflow_environment_holds_no_dev_package(mlflow_python):
    for module in ("pytest", "stable_baselines3", "wandb"):  # dev packages the example must not use
        found = subprocess.run(
            [mlflow_python, "-c", f"import {module}"], env=_environment(), capture_output=True
        )
        assert found.returncode != 0, f"{module} is in {MLFLOW_VENV}: more than the extras"


def test_readme_mlflow_example_runs_with_only_its_extra(mlflow_python, tmp_path):
    code = "\n".join(textwrap.dedent(block.code) for block in _mlflow_example())
    done = subprocess.run(
        [mlflow_python, "-W", "error::DeprecationWarning:rlvideo", "-c", code],
        cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    listed = subprocess.run(
        [mlflow_python, "-c", LIST_RUNS],
        cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-3000:]
    (run,) = json.loads(listed.stdout.splitlines()[-1])
    assert run["tags"]["rlvideo.env_id"] == "CartPole-v1"
    videos = {name: path for name, path in run["artifacts"].items() if name.endswith(".mp4")}
    saved = sorted((tmp_path / "videos-mlflow").glob("*.mp4"))
    assert len(videos) == len(saved) == 2, run["artifacts"]  # episodes 0 and 1 of 3 (the schedule)
    for name, path in videos.items():
        meta = json.loads(Path(run["artifacts"][name.replace(".mp4", ".json")]).read_text())
        assert name == f"videos/step_{meta['first_step']:08d}.mp4"
        assert Path(path).read_bytes() == Path(meta["path"]).read_bytes()  # the file, as written
        assert decode(path).count == meta["frames"] > 1
