"""rlvideo.wrappers.sb3.EvalVideoCallback: evaluation videos while SB3 trains, at the train step."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("stable_baselines3")
mlflow = pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from rlvideo import VideoMetadata  # noqa: E402
from rlvideo.errors import InvalidArgumentError, RenderModeError  # noqa: E402
from rlvideo.loggers import MLflowLogger, TensorBoardLogger  # noqa: E402
from rlvideo.wrappers.sb3 import EvalVideoCallback  # noqa: E402
from tests.helpers import decode  # noqa: E402

EPISODE_STEPS = 15


def eval_env():
    return gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=EPISODE_STEPS)


def train(callback, total=256):
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(total_timesteps=total, callback=callback)
    return model


@pytest.fixture(autouse=True)
def _mlflow_store(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # no network here


def test_videos_every_n_steps_reach_the_trackers_at_the_training_step(tmp_path):
    saved: list[VideoMetadata] = []
    with mlflow.start_run() as run:
        callback = EvalVideoCallback(
            eval_env(), tmp_path / "videos", every=128, metadata=True,
            loggers=[TensorBoardLogger(str(tmp_path / "runs")), MLflowLogger()],
            on_video_saved=lambda path, meta: saved.append(meta),
        )  # fmt: skip
        train(callback)
    names = sorted(p.name for p in (tmp_path / "videos").glob("*.mp4"))
    assert names == ["eval-step-128-episode-0.mp4", "eval-step-256-episode-0.mp4"]
    assert [m.first_step for m in saved] == [128, 256]
    assert all(m.kind == "episode" and m.env_id == "CartPole-v1" for m in saved)
    for meta in saved:  # the reset frame and one per step, as RecordVideo records
        assert decode(meta.path).count == meta.frames == meta.steps + 1
        sidecar = json.loads(Path(meta.path).with_suffix(".json").read_text())
        assert sidecar["first_step"] == meta.first_step
    assert callback.evaluations == 2

    accumulator = EventAccumulator(str(tmp_path / "runs"), size_guidance={"images": 0})
    accumulator.Reload()
    assert [image.step for image in accumulator.Images("videos")] == [128, 256]
    artifacts = mlflow.MlflowClient().list_artifacts(run.info.run_id, "videos")
    assert sorted(f.path for f in artifacts if f.path.endswith(".mp4")) == [
        "videos/step_00000128.mp4", "videos/step_00000256.mp4"
    ]  # fmt: skip


def test_vec_env_of_one_and_several_episodes(tmp_path):
    venv = VecNormalize(DummyVecEnv([eval_env]), training=False, norm_reward=False)
    saved: list[VideoMetadata] = []
    callback = EvalVideoCallback(
        venv, tmp_path / "videos", every=200, n_eval_episodes=2,
        on_video_saved=lambda path, meta: saved.append(meta),
    )  # fmt: skip
    model = PPO("MlpPolicy", VecNormalize(DummyVecEnv([eval_env])), n_steps=100, batch_size=50,
                n_epochs=1, seed=0)  # fmt: skip
    model.learn(total_timesteps=200, callback=callback)
    assert [(m.first_step, m.episode) for m in saved] == [(200, 0), (200, 1)]
    for meta in saved:  # the VecEnv's automatic reset hides the last frame
        assert decode(meta.path).count == meta.frames == meta.steps


def train_with_a_broken_logger(folder):
    """Evaluate every 128 steps with a logger that raises and one that notes each video's step.

    Returns the callback and the steps the working logger got; the broken logger's error is
    raised by a later call, as a plain callable's always was, and ends training.
    """
    got: list[int] = []

    def broken(path, meta):
        raise ConnectionError("down")

    callback = EvalVideoCallback(
        eval_env(), folder, every=128,
        loggers=[broken, lambda path, meta: got.append(meta.first_step)],
    )  # fmt: skip
    with pytest.raises(ConnectionError, match="down"):
        train(callback)
    return callback, got


def test_a_failing_logger_does_not_keep_the_video_from_the_others(tmp_path):
    callback, got = train_with_a_broken_logger(tmp_path / "videos")
    # The error reaches SB3 at the rollout's end (step 192) or, when the encoder answers later,
    # at the end of the evaluation at 256: the videos ended by then are finished all the same.
    assert got in ([128], [128, 256])  # the other logger had every video
    names = sorted(p.name for p in (tmp_path / "videos").iterdir())
    assert names == [f"eval-step-{step}-episode-0.mp4" for step in got]  # no partial file
    assert callback.saved_videos == []  # the recorder was closed, as at the end of training


def test_an_error_raised_during_an_evaluation_leaves_no_partial_file(tmp_path, monkeypatch):
    # no poll between rollouts: the step-128 video's hand-off error surfaces while the step-256
    # evaluation ends, the path CI once took (the step-256 video was left as a .partial file)
    monkeypatch.setattr(EvalVideoCallback, "_on_rollout_end", lambda self: None)
    _, got = train_with_a_broken_logger(tmp_path / "videos")
    assert got == [128, 256]  # both finished and handed to the working logger
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == [
        "eval-step-128-episode-0.mp4", "eval-step-256-episode-0.mp4"
    ]  # fmt: skip
    assert decode(tmp_path / "videos" / "eval-step-256-episode-0.mp4").count == EPISODE_STEPS + 1


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidArgumentError, match="every must be a positive int"):
        EvalVideoCallback(eval_env(), tmp_path, every=0)
    with pytest.raises(RenderModeError, match="render_mode must be 'rgb_array'"):
        EvalVideoCallback(gym.make("CartPole-v1"), tmp_path)
    with pytest.raises(InvalidArgumentError, match="got 2 envs"):
        EvalVideoCallback(DummyVecEnv([eval_env] * 2), tmp_path)
    with pytest.raises(InvalidArgumentError, match="loggers must be"):
        EvalVideoCallback(eval_env(), tmp_path, loggers=[42])
    with pytest.raises(InvalidArgumentError, match="unexpected keyword argument 'fromat'"):
        EvalVideoCallback(eval_env(), tmp_path, fromat="gif")
