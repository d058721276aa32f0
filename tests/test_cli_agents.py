"""``rlvideo record --policy`` with trained agents: SB3 and sb3-contrib zips, VecNormalize, torch.

A tiny PPO is trained on CartPole in the test (a few seconds) and saved; the command records it,
through click's runner and as ``python -m rlvideo``, and the videos' sidecars must hold the
returns and lengths the model earns when run directly, with the same seeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rlvideo.cli import cli
from tests.helpers import decode

gym = pytest.importorskip("gymnasium")
sb3 = pytest.importorskip("stable_baselines3")

STEPS = 120  # max_episode_steps: long enough for returns to differ, short enough to be quick
ENV_KWARGS = json.dumps({"max_episode_steps": STEPS})


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _one_line_error(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    return result.output


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory) -> Path:
    """A PPO trained for 2048 steps on CartPole-v1: better than random, far from perfect."""
    folder = tmp_path_factory.mktemp("ppo")
    model = sb3.PPO(
        "MlpPolicy", "CartPole-v1", n_steps=256, batch_size=64, n_epochs=4, seed=0, device="cpu"
    )
    model.learn(2048)
    model.save(folder / "ppo-cartpole.zip")
    return folder / "ppo-cartpole.zip"


def _direct(model, seeds, *, normalize=None, env_id="CartPole-v1"):
    """(return, length) of each episode, the model acting deterministically, as SB3 users do."""
    env = gym.make(env_id, max_episode_steps=STEPS)
    results = []
    for seed in seeds:
        observation, _ = env.reset(seed=seed)
        total, steps, done = 0.0, 0, False
        while not done:
            if normalize is not None:
                observation = normalize.normalize_obs(observation)
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total, steps, done = total + float(reward), steps + 1, terminated or truncated
        results.append((total, steps))
    return results


def _recorded(out: Path, pattern: str = "rl-video-episode-*.json"):
    metas = [json.loads(p.read_text()) for p in out.glob(pattern)]
    return {m["episode"]: (m["episode_return"], m["steps"]) for m in metas}


def test_a_trained_ppo_is_recorded_with_the_returns_it_earns(tmp_path, ppo_zip):
    out = tmp_path / "v"
    result = invoke(
        "record", "CartPole-v1", "--policy", ppo_zip, "--episodes", 3, "--every", 1,
        "--seed", 5, "--env-kwargs", ENV_KWARGS, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = _direct(sb3.PPO.load(ppo_zip, device="cpu"), [5, 6, 7])
    assert _recorded(out) == dict(enumerate(expected))
    for episode, (_, steps) in enumerate(expected):
        assert decode(out / f"rl-video-episode-{episode}.mp4").count == steps + 1
    assert f"policy: PPO model {ppo_zip} (deterministic)" in result.output  # --algo inferred
    returns = [r for r, _ in expected]
    mean, std = f"{np.mean(returns):.2f}", f"{np.std(returns):.2f}"
    summary = next(line for line in result.output.splitlines() if line.startswith("all 3"))
    assert summary.startswith(
        f"all 3 episodes: return {mean.rstrip('0').rstrip('.')} ± {std.rstrip('0').rstrip('.')}"
    )


def test_python_m_rlvideo_records_the_agent_with_algo(tmp_path, ppo_zip):
    out = tmp_path / "v"
    done = subprocess.run(
        [sys.executable, "-m", "rlvideo", "record", "CartPole-v1", "--policy", str(ppo_zip),
         "--algo", "ppo", "--episodes", "2", "--every", "1", "--env-kwargs", ENV_KWARGS,
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = _direct(sb3.PPO.load(ppo_zip, device="cpu"), [0, 1])
    assert _recorded(out) == dict(enumerate(expected))
    assert "Traceback" not in done.stderr


def test_a_vector_env_runs_the_agent_on_every_sub_env(tmp_path, ppo_zip):
    out = tmp_path / "v"
    result = invoke(
        "record", "CartPole-v1", "--policy", ppo_zip, "--num-envs", 3, "--episodes", 1,
        "--every", 1, "--env-kwargs", ENV_KWARGS, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    model = sb3.PPO.load(ppo_zip, device="cpu")
    for k in range(3):  # reset(seed=0) seeds sub-env k with k
        assert _recorded(out, f"rl-video-env-{k}-episode-0.json") == {0: _direct(model, [k])[0]}
    assert "all 3 episodes (1 on each of 3 sub-envs)" in result.output
    assert all(f"  sub-env {k}: return" in result.output for k in range(3))


def test_a_saved_vecnormalize_beside_the_model_normalizes_observations(tmp_path):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, seed=0), norm_reward=False)
    model = sb3.PPO("MlpPolicy", venv, n_steps=128, batch_size=64, n_epochs=2, seed=0,
                    device="cpu")  # fmt: skip
    model.learn(1024)
    model.save(tmp_path / "model.zip")
    venv.save(tmp_path / "vecnormalize.pkl")
    out = tmp_path / "v"
    result = invoke(
        "record", "CartPole-v1", "--policy", tmp_path / "model.zip", "--episodes", 2,
        "--every", 1, "--env-kwargs", ENV_KWARGS, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"observations normalized by {tmp_path / 'vecnormalize.pkl'}" in result.output
    stats = VecNormalize.load(str(tmp_path / "vecnormalize.pkl"), make_vec_env("CartPole-v1"))
    expected = _direct(sb3.PPO.load(tmp_path / "model.zip", device="cpu"), [0, 1], normalize=stats)
    assert _recorded(out) == dict(enumerate(expected))
    without = invoke(
        "record", "CartPole-v1", "--policy", tmp_path / "model.zip", "--vec-normalize", "none",
        "--episodes", 1, "--env-kwargs", ENV_KWARGS, "--out", tmp_path / "raw",
    )  # fmt: skip
    assert without.exit_code == 0, without.output
    assert "normalized" not in without.output


def test_rl_zoo_layout_folder_and_vecnormalize(tmp_path, ppo_zip):
    """rl-baselines3-zoo saves logs/ppo/CartPole-v1_1/CartPole-v1.zip and CartPole-v1/*.pkl."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    experiment = tmp_path / "logs" / "ppo" / "CartPole-v1_1"
    (experiment / "CartPole-v1").mkdir(parents=True)
    (experiment / "CartPole-v1.zip").write_bytes(ppo_zip.read_bytes())
    (experiment / "best_model.zip").write_bytes(ppo_zip.read_bytes())
    VecNormalize(make_vec_env("CartPole-v1")).save(experiment / "CartPole-v1" / "vecnormalize.pkl")
    result = invoke(
        "record", "CartPole-v1", "--policy", experiment, "--episodes", 1,
        "--env-kwargs", ENV_KWARGS, "--out", tmp_path / "v",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"PPO model {experiment / 'CartPole-v1.zip'}" in result.output
    assert f"normalized by {experiment / 'CartPole-v1' / 'vecnormalize.pkl'}" in result.output


def test_stochastic_actions_are_seeded(tmp_path, ppo_zip):
    runs = []
    for name in ("a", "b"):
        result = invoke(
            "record", "CartPole-v1", "--policy", ppo_zip, "--stochastic", "--episodes", 2,
            "--every", 1, "--env-kwargs", ENV_KWARGS, "--out", tmp_path / name,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "(stochastic)" in result.output
        runs.append(_recorded(tmp_path / name))
    assert runs[0] == runs[1]


def _balance_module():
    """The demo's balancing rule as a torch module returning two logits (push left, right)."""
    import torch

    class Balance(torch.nn.Module):
        def forward(self, observation: torch.Tensor) -> torch.Tensor:
            push = observation @ torch.tensor([0.05, 0.1, 1.0, 1.0])
            return torch.stack([-push, push], dim=1)

    return Balance()


def _save_policy(path: Path) -> None:
    import warnings

    import torch

    if path.suffix == ".pt2":
        batch = torch.export.Dim("batch")
        program = torch.export.export(
            _balance_module(), (torch.zeros(2, 4),), dynamic_shapes=({0: batch},)
        )
        torch.export.save(program, str(path))
        return
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; its users still have files
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(_balance_module()), str(path))


@pytest.mark.parametrize(
    ("name", "kind"),
    [("balance.pt", "TorchScript module"), ("balance.pt2", "torch.export program")],
)
def test_a_torchscript_module_or_exported_program_is_a_policy(tmp_path, name, kind):
    _save_policy(tmp_path / name)
    common = ["CartPole-v1", "--episodes", 2, "--every", 1, "--env-kwargs", ENV_KWARGS]
    scripted = invoke("record", *common, "--policy", tmp_path / name, "--out", tmp_path / "t")
    assert scripted.exit_code == 0, scripted.output
    assert f"policy: {kind} {tmp_path / name}" in scripted.output
    plain = invoke("record", *common, "--policy", "rlvideo.cli.demo:balancing_policy",
                   "--out", tmp_path / "p")  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert _recorded(tmp_path / "t") == _recorded(tmp_path / "p") == {0: (120, 120), 1: (120, 120)}
    vector = invoke("record", *common, "--num-envs", 2, "--policy", tmp_path / name,
                    "--out", tmp_path / "tv")  # fmt: skip
    assert vector.exit_code == 0, vector.output
    assert _recorded(tmp_path / "tv", "rl-video-env-1-episode-0.json") == {0: (120, 120)}


# -- --algo read from the checkpoint --------------------------------------------------------------
def _contrib(name: str):
    contrib = pytest.importorskip("sb3_contrib")
    return getattr(contrib, name)


ALGORITHMS = {  # --algo name: (class, env id)
    "ppo": (lambda: sb3.PPO, "CartPole-v1"),
    "a2c": (lambda: sb3.A2C, "CartPole-v1"),
    "dqn": (lambda: sb3.DQN, "CartPole-v1"),
    "sac": (lambda: sb3.SAC, "Pendulum-v1"),
    "td3": (lambda: sb3.TD3, "Pendulum-v1"),
    "ddpg": (lambda: sb3.DDPG, "Pendulum-v1"),
    "qrdqn": (lambda: _contrib("QRDQN"), "CartPole-v1"),
    "trpo": (lambda: _contrib("TRPO"), "CartPole-v1"),
    "ars": (lambda: _contrib("ARS"), "CartPole-v1"),
    "tqc": (lambda: _contrib("TQC"), "Pendulum-v1"),
    "crossq": (lambda: _contrib("CrossQ"), "Pendulum-v1"),
    "recurrentppo": (lambda: _contrib("RecurrentPPO"), "CartPole-v1"),
    "maskableppo": (lambda: _contrib("MaskablePPO"), "CartPole-v1"),
}


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_the_algorithm_is_read_from_the_checkpoint(tmp_path, algo):
    from rlvideo.cli._policies import infer_algorithm

    cls, env_id = ALGORITHMS[algo]
    policy = "MlpLstmPolicy" if algo == "recurrentppo" else "MlpPolicy"
    extra = {"buffer_size": 1000} if algo in ("dqn", "qrdqn", "sac", "td3", "ddpg", "tqc",
                                              "crossq") else {}  # fmt: skip
    cls()(policy, env_id, device="cpu", **extra).save(tmp_path / "model.zip")
    assert infer_algorithm(tmp_path / "model.zip") == algo


@pytest.mark.parametrize("algo", ["recurrentppo", "sac"])
def test_sb3_contrib_and_continuous_agents_record(tmp_path, algo):
    """A recurrent policy keeps its state through the episode; a Box action space works."""
    cls, env_id = ALGORITHMS[algo]
    policy = "MlpLstmPolicy" if algo == "recurrentppo" else "MlpPolicy"
    extra = {"buffer_size": 1000} if algo == "sac" else {}
    model = cls()(policy, env_id, device="cpu", seed=0, **extra)
    model.save(tmp_path / "model.zip")
    out = tmp_path / "v"
    result = invoke(
        "record", env_id, "--policy", tmp_path / "model.zip", "--episodes", 1,
        "--env-kwargs", json.dumps({"max_episode_steps": 40}), "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    model = cls().load(tmp_path / "model.zip", device="cpu")
    env = gym.make(env_id, max_episode_steps=40)
    observation, _ = env.reset(seed=0)
    total, steps, state, start, done = 0.0, 0, None, np.ones(1, bool), False
    while not done:
        action, state = model.predict(
            observation, state=state, episode_start=start, deterministic=True
        )
        observation, reward, terminated, truncated, _ = env.step(action)
        total, start, done = total + float(reward), np.zeros(1, bool), terminated or truncated
        steps += 1
    assert _recorded(out)[0] == (pytest.approx(total, rel=1e-6), steps)


# -- mistakes: one line, the option named, the fix said ----------------------------------------
def test_agent_mistakes_are_one_line(tmp_path, ppo_zip):
    out = ["--out", tmp_path / "v"]
    message = _one_line_error("record", "CartPole-v1", "--policy", ppo_zip, "--algo", "dqn", *out)
    assert "DQN.load failed" in message
    assert "The checkpoint looks like ppo: pass --algo ppo, or drop --algo." in message
    assert "--algo 'nope': not an algorithm rlvideo knows" in _one_line_error(
        "record", "CartPole-v1", "--policy", ppo_zip, "--algo", "nope", *out
    )
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert f"--policy {junk}: not a Stable-Baselines3 model" in _one_line_error(
        "record", "CartPole-v1", "--policy", junk, *out
    )
    assert "--policy nowhere.zip: no such file" in _one_line_error(
        "record", "CartPole-v1", "--policy", "nowhere.zip", *out
    )
    message = _one_line_error("record", "Acrobot-v1", "--policy", ppo_zip, *out)
    assert "the model was trained on observations Box(4,), but this env gives Box(6,)" in message
    assert "--algo applies to a Stable-Baselines3 model" in _one_line_error(
        "record", "CartPole-v1", "--algo", "ppo", *out
    )
    assert "--stochastic applies to a Stable-Baselines3 model" in _one_line_error(
        "record",
        "CartPole-v1",
        "--policy",
        "rlvideo.cli.demo:balancing_policy",
        "--stochastic",
        *out,
    )
    assert "--vec-normalize missing.pkl: no such file" in _one_line_error(
        "record", "CartPole-v1", "--policy", ppo_zip, "--vec-normalize", "missing.pkl", *out
    )
    state_dict = tmp_path / "weights.pt"
    import torch

    torch.save({"w": torch.zeros(2)}, state_dict)
    assert "not a TorchScript module" in _one_line_error(
        "record", "CartPole-v1", "--policy", state_dict, *out
    )
    assert not (tmp_path / "v").exists()  # every mistake was caught before anything was written


def test_a_model_named_without_zip_is_found_as_sb3_finds_it(tmp_path, ppo_zip, monkeypatch):
    monkeypatch.chdir(ppo_zip.parent)  # model.save("ppo-cartpole") wrote ppo-cartpole.zip here
    result = invoke(
        "record", "CartPole-v1", "--policy", ppo_zip.stem, "--episodes", 2, "--seed", 3,
        "--env-kwargs", ENV_KWARGS, "--out", tmp_path / "v",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"policy: PPO model {ppo_zip.name} (deterministic" in result.output
    expected = _direct(sb3.PPO.load(ppo_zip, device="cpu"), [3, 4])
    assert _recorded(tmp_path / "v") == dict(enumerate(expected))
