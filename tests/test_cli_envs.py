"""``rlvideo record`` with third-party envs, run through the console script.

The packages of well-known ids are imported for them (ALE, MiniGrid; Box2D is Gymnasium's own);
``--import`` and ``MODULE:ID`` register other envs; modules of the current folder can be named
from the console script (whose ``sys.path`` lacks that folder); an id whose package is missing
keeps Gymnasium's message and says what to install. Videos are read back with PyAV.

Real envs run in subprocesses: importing Box2D under pytest's ``filterwarnings = error`` crashes
the interpreter (a SWIG DeprecationWarning turned into an error inside its module init).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlvideo.cli import cli
from tests.helpers import decode, folder_names

gym = pytest.importorskip("gymnasium")

RLVIDEO = Path(sys.executable).parent / "rlvideo"  # the console script, beside this Python


def _environment() -> dict[str, str]:
    """The test's environment, less PYTHONPATH: the current folder must come from rlvideo."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def run_rlvideo(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not RLVIDEO.exists():
        pytest.skip(f"no console script at {RLVIDEO} (install the package)")
    return subprocess.run(
        [str(RLVIDEO), *map(str, args)], cwd=cwd, env=_environment(), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def _render_settings(env_id: str, modules: list[str]) -> tuple[float, tuple[int, ...]]:
    """``metadata["render_fps"]`` and the shape of a rendered frame, from a fresh interpreter."""
    code = textwrap.dedent(f"""
        import importlib, json
        import gymnasium as gym
        for module in {modules!r}:
            importlib.import_module(module)
        env = gym.make({env_id!r}, render_mode="rgb_array")
        env.reset(seed=0)
        print(json.dumps([env.metadata["render_fps"], list(env.render().shape)]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    fps, shape = json.loads(done.stdout.strip().splitlines()[-1])
    return fps, tuple(shape)


def _manifest(out: Path) -> list[dict[str, object]]:
    return json.loads((out / "manifest.json").read_text())["videos"]  # type: ignore[no-any-return]


# id, the module that registers it (for the skip and the probe), extra options, frames expected
# (None: the whole episode, its steps + the reset frame)
REAL_ENVS = {
    "pong": ("ALE/Pong-v5", "ale_py", [], None),
    "minigrid": ("MiniGrid-Empty-5x5-v0", "minigrid", [], None),
    "lunarlander": ("LunarLander-v3", "Box2D", ["--video-length", 12], 12),
}


@pytest.mark.parametrize("name", sorted(REAL_ENVS))
def test_record_a_third_party_env_by_its_id_alone(tmp_path, name):
    env_id, module, options, frames = REAL_ENVS[name]
    pytest.importorskip(module, reason=f"{env_id} needs {module}")  # find_spec would do, too
    out = tmp_path / "v"
    done = run_rlvideo(
        "record", env_id, "--episodes", 1, "--every", 1, "--out", out,
        "--env-kwargs", '{"max_episode_steps": 30}', *options, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rl-video-episode-0.mp4" in folder_names(out)
    (meta,) = _manifest(out)
    assert 0 < meta["steps"] <= 30  # type: ignore[operator]
    video = decode(out / "rl-video-episode-0.mp4")
    assert video.count == (frames or meta["steps"] + 1)  # type: ignore[operator]
    fps, (height, width, _) = _render_settings(env_id, [] if module == "Box2D" else [module])
    assert (video.width, video.height) == (width + width % 2, height + height % 2)
    assert video.fps == fps


ENV_MODULE = """
import gymnasium as gym
import numpy as np


class Odd(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 7}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(3)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t >= 6
        return np.full(1, self.t, np.float32), float(action == 2), done, False, {}

    def render(self):
        return np.full((15, 21, 3), 30 * self.t, np.uint8)


gym.register("{env_id}", entry_point=Odd)
"""


@pytest.fixture
def local_modules(tmp_path):
    """In tmp_path: a module that registers an env with odd frames, and one with a policy."""
    (tmp_path / "rlv_local_envs.py").write_text(ENV_MODULE.replace("{env_id}", "RLVLocal-v0"))
    (tmp_path / "rlv_plugin.py").write_text(ENV_MODULE.replace("{env_id}", "RLVPlugin-v0"))
    (tmp_path / "rlv_local_agents.py").write_text("def act(observation):\n    return 2\n")
    return tmp_path


def test_module_id_and_policy_from_the_current_folder(local_modules):
    out = local_modules / "v"
    done = run_rlvideo(
        "record", "rlv_local_envs:RLVLocal-v0", "--policy", "rlv_local_agents:act",
        "--episodes", 1, "--every", 1, "--out", out, cwd=local_modules,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (meta,) = _manifest(out)
    assert meta["episode_return"] == 6  # the policy chose 2 every step: it ran
    video = decode(out / "rl-video-episode-0.mp4")
    assert video.count == 7  # reset + 6 steps
    assert (video.width, video.height) == (22, 16)  # 21x15, padded to even
    assert video.fps == 7


def test_import_registers_the_env_before_it_is_made(local_modules):
    out = local_modules / "v"
    args = ["record", "RLVPlugin-v0", "--episodes", 1, "--every", 1, "--out", out]
    unknown = run_rlvideo(*args, cwd=local_modules)
    assert unknown.returncode == 2
    assert "unknown env id 'RLVPlugin-v0'" in unknown.stderr
    done = run_rlvideo(
        *args, "--import", "json", "--import", "rlv_plugin", "--num-envs", 2, cwd=local_modules
    )
    assert done.returncode == 0, done.stderr
    assert {"rl-video-env-0-episode-0.mp4", "rl-video-env-1-episode-0.mp4"} <= folder_names(out)
    assert decode(out / "rl-video-env-1-episode-0.mp4").count == 7


def _one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith("rlvideo: error: ")
    return result.output


def test_import_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rlv_broken_plugin.py").write_text("raise RuntimeError('no GPU here\\nat all')\n")
    path = list(sys.path)
    out = ["--out", str(tmp_path / "v")]
    assert "--import rlv_no_such_module: cannot import rlv_no_such_module (No module named" in (
        _one_line_error(["record", "CartPole-v1", "--import", "rlv_no_such_module", *out])
    )
    assert (
        "--import rlv_broken_plugin: importing rlv_broken_plugin failed (RuntimeError: no GPU here)"
    ) in _one_line_error(["record", "CartPole-v1", "--import", "rlv_broken_plugin", *out])
    assert "cannot import rlv_nowhere.envs (No module named 'rlv_nowhere')" in (
        _one_line_error(["record", "rlv_nowhere.envs:Env-v0", *out])
    )
    assert sys.path == path  # the current folder was added for the command only


def _without(monkeypatch, module: str, ids: str) -> None:
    """As if ``module`` were not installed, and had not registered its envs yet."""
    monkeypatch.setitem(sys.modules, module, None)
    for env_id in [key for key in gym.registry if key.startswith(ids)]:
        monkeypatch.delitem(gym.registry, env_id)


def test_dm_control_missing_keeps_gymnasiums_message_and_names_the_install(tmp_path):
    if _installed("dm_control"):
        pytest.skip("dm_control is installed")
    message = _one_line_error(["record", "dm_control/cartpole-swingup-v0", "--out", str(tmp_path)])
    assert (
        "Namespace dm_control not found. Have you installed the proper package for dm_control?"
    ) in message
    needs = "dm_control" if _installed("shimmy") else "shimmy and dm_control"
    assert f'It needs {needs}: pip install "shimmy[dm-control]"' in message
    assert "--import MODULE" in message


def test_missing_ale_and_minigrid_name_their_packages(tmp_path, monkeypatch):
    _without(monkeypatch, "ale_py", "ALE/")
    message = _one_line_error(["record", "ALE/Pong-v5", "--out", str(tmp_path)])
    assert "Namespace ALE not found. Have you installed the proper package for ALE?" in message
    assert "It needs ale_py: pip install ale-py" in message
    _without(monkeypatch, "minigrid", "MiniGrid-")
    message = _one_line_error(["record", "MiniGrid-Empty-5x5-v0", "--out", str(tmp_path)])
    assert "Environment `MiniGrid-Empty-5x5` doesn't exist." in message
    assert "It needs minigrid: pip install minigrid" in message


def test_an_unknown_namespace_suggests_import(tmp_path):
    message = _one_line_error(["record", "RLVNoSuchSpace/Env-v0", "--out", str(tmp_path)])
    assert "Namespace RLVNoSuchSpace not found." in message
    assert "add --import MODULE" in message


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("bad id!", "cannot make 'bad id!': Malformed environment ID"),
        ("CartPole-v0:x:y", "cannot import CartPole-v0"),
    ],
)
def test_ids_gymnasium_rejects_are_one_line(tmp_path, env_id, message):
    assert message in _one_line_error(["record", env_id, "--out", str(tmp_path)])


@pytest.mark.parametrize(
    ("typed", "module", "meant"),
    [("Pong-v5", "ale_py", "ALE/Pong-v5"), ("Empty-5x5-v0", "minigrid", "MiniGrid-Empty-5x5-v0")],
)
def test_an_id_without_its_namespace_suggests_the_known_packages_id(tmp_path, typed, module, meant):
    pytest.importorskip(module, reason=f"{meant} needs {module}")
    done = run_rlvideo("record", typed, "--out", tmp_path / "v", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"rlvideo: error: unknown env id {typed!r}. Did you mean: {meant}")
    assert not (tmp_path / "v").exists()
