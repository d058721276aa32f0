"""The RLlib engine (rlvideo.wrappers._rllib) driven without Ray, in RLlib's order of hooks.

RLlib itself runs in tests/rllib (in .venv-rllib); these drive the per-runner engine the way
SingleAgentEnvRunner calls its callbacks, with real Gymnasium sub-envs and a stand-in episode,
so the cases RLlib makes rare are forced here: an episode RLlib abandons (a forced reset), an
autoreset after a seeded first reset with replay=True, a setup that cannot record.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlvideo._core.options import recorder_options
from rlvideo.errors import InvalidArgumentError
from rlvideo.wrappers._rllib import (
    RunnerSettings,
    RunnerVideos,
    close_runner_videos,
    recordable_sub_envs,
    replay_spec,
)
from tests.helpers import decode


class Episode:
    """What the engine reads of RLlib's SingleAgentEpisode."""

    def __init__(self, obs: Any, info: dict[str, Any]) -> None:
        self.obs, self.infos, self.actions, self.rewards = [obs], [info], [], []
        self.is_terminated = self.is_truncated = False

    def add(self, action: Any, obs: Any, reward: float, term: bool, trunc: bool, info: Any) -> None:
        self.actions.append(action)
        self.obs.append(obs)
        self.rewards.append(reward)
        self.infos.append(info)
        self.is_terminated, self.is_truncated = term, trunc

    def get_observations(self, i: int) -> Any:
        return self.obs[i]

    def get_infos(self, i: int) -> Any:
        return self.infos[i]

    def get_actions(self, i: int) -> Any:
        return self.actions[i]

    def get_rewards(self, i: int) -> Any:
        return self.rewards[i]


class Runner:
    """A stand-in env runner: RLlib's order of hooks over a list of Gymnasium sub-envs."""

    def __init__(self, videos: RunnerVideos, envs: int, seed: int | None = 3) -> None:
        self.worker_index = 1
        self.config = SimpleNamespace(in_evaluation=False, is_multi_agent=False, num_env_runners=1)
        self.envs = [gym.make("CartPole-v1", render_mode="rgb_array") for _ in range(envs)]
        self._seed, self._needs_initial_reset = seed, True
        self.videos = videos
        self.episodes: list[Episode | None] = [None] * envs
        self.stopped = False
        videos.environment_created(self, SimpleNamespace(envs=self.envs))

    def stop(self) -> None:
        self.stopped = True

    def reset_all(self) -> None:
        """_reset_envs: every sub-env's episode created, then one (seeded at first) reset."""
        for k in range(len(self.envs)):
            self.videos.episode_created(self, k)
        for k, env in enumerate(self.envs):
            seed = None if not self._needs_initial_reset or self._seed is None else self._seed + k
            self.episodes[k] = Episode(*env.reset(seed=seed))
            self.videos.episode_start(self.episodes[k], k)
        self._needs_initial_reset = False

    def step(self, k: int, action: int) -> bool:
        """One step of sub-env k, its hooks, and (after an end) its autoreset. Ended?"""
        episode = self.episodes[k]
        assert episode is not None
        obs, reward, term, trunc, info = self.envs[k].step(action)
        episode.add(action, obs, float(reward), term, trunc, info)
        self.videos.episode_step(episode, k)
        if not (term or trunc):
            return False
        self.videos.episode_end(k)
        self.videos.episode_created(self, k)  # RLlib's new episode, then the next-step reset
        self.episodes[k] = Episode(*self.envs[k].reset())
        self.videos.episode_start(self.episodes[k], k)
        return True


def settings(folder: Path, **options: Any) -> RunnerSettings:
    """Every episode recorded whole, with sidecars, on the thread encoder."""
    options.setdefault("metadata", True)
    options.setdefault("encoder", "thread")
    recorder_options("test", options)
    return RunnerSettings(
        video_folder=str(folder), episode_trigger=lambda e: True, step_trigger=None,
        video_length=float("inf"), name_prefix="rl", env_runners=None, options=options,
    )  # fmt: skip


def sidecars(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@pytest.mark.parametrize("replay", [False, True], ids=["live", "replay"])
def test_whole_episodes_and_one_abandoned_by_a_forced_reset(tmp_path, replay):
    videos = RunnerVideos(settings(tmp_path, replay=replay))
    runner = Runner(videos, envs=2)
    runner.reset_all()
    ended = 0
    while ended < 2:  # sub-env 0 finishes two episodes; sub-env 1 steps along
        ended += runner.step(0, ended % 2)
        runner.step(1, 1)
    runner.reset_all()  # forced: sub-env 1's episode (if under way) is abandoned
    for _ in range(5):
        runner.step(0, 0)
    records = close_runner_videos(runner)
    found = sidecars(tmp_path)
    assert {s["env_index"] for s in found.values()} == {0, 1}
    for stem, sidecar in found.items():
        assert decode(tmp_path / f"{stem}.mp4").count == sidecar["frames"]
        if sidecar["terminated"] or sidecar["truncated"]:
            assert sidecar["frames"] == sidecar["steps"] + 1
            assert not sidecar["cut_short"]
        else:
            assert sidecar["cut_short"] is True, stem  # abandoned, or open at close
    assert found["rl-w1-env-0-episode-0"]["terminated"]
    assert found["rl-w1-env-0-episode-1"]["terminated"]
    assert found["rl-w1-env-0-episode-2"]["cut_short"]  # the one the forced reset abandoned
    if replay:
        assert all(sidecar["replay"]["verified"] for sidecar in found.values())
    assert {Path(r["url"]).stem for r in records} <= set(found)
    assert videos.active is False  # closed: it records nothing after


def test_replay_takes_the_first_resets_seed_and_an_autoresets_rng(tmp_path):
    videos = RunnerVideos(settings(tmp_path, replay=True))
    runner = Runner(videos, envs=2, seed=7)
    runner.reset_all()
    ended = 0
    while ended < 2:
        ended += runner.step(0, ended % 2)
        runner.step(1, 0)
    close_runner_videos(runner)
    found = sidecars(tmp_path)
    assert "rl-w1-env-0-episode-1" in found  # after an autoreset
    for stem, sidecar in found.items():
        assert sidecar["replay"]["verified"] is True, stem
        assert decode(tmp_path / f"{stem}.mp4").count == sidecar["frames"]
    assert found["rl-w1-env-0-episode-0"]["seed"] is None  # the machine knows no seed...
    first = str(np.load(tmp_path / "rl-w1-env-0-episode-0.replay.npz")["header"])
    assert '"seed": 7, "options": null, "rng": null' in first  # ...the replay file has RLlib's
    second = str(np.load(tmp_path / "rl-w1-env-0-episode-1.replay.npz")["header"])
    assert '"seed": null, "options": null, "rng": {' in second  # an autoreset: the RNG state
    other = str(np.load(tmp_path / "rl-w1-env-1-episode-0.replay.npz")["header"])
    assert '"seed": 8,' in other  # sub-env k's first reset: seed + k


def test_the_runners_stop_finishes_its_videos(tmp_path):
    videos = RunnerVideos(settings(tmp_path))
    runner = Runner(videos, envs=1)
    runner.reset_all()
    runner.step(0, 0)
    runner.stop()  # the patched stop(): RLlib's algo.stop() calls it on each runner
    assert runner.stopped
    assert sidecars(tmp_path)["rl-w1-env-0-episode-0"]["cut_short"] is True


def test_a_recorder_that_cannot_start_turns_the_runner_off_once(tmp_path, monkeypatch, caplog):
    videos = RunnerVideos(settings(tmp_path))
    runner = Runner(videos, envs=1)

    def broken() -> None:
        raise OSError("no room")

    monkeypatch.setattr(videos, "_make_recorder", broken)
    with pytest.raises(Exception, match="could not start"):
        runner.reset_all()
    assert videos.active is False
    assert len([r for r in caplog.records if "cannot record" in r.getMessage()]) == 1


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        (SimpleNamespace(is_multi_agent=True), SimpleNamespace(envs=[]), "multi-agent"),
        (SimpleNamespace(is_multi_agent=False), SimpleNamespace(), "gym_env_vectorize_mode"),
        (
            SimpleNamespace(is_multi_agent=False),
            SimpleNamespace(envs=[SimpleNamespace(render_mode=None)]),
            "render_mode': 'rgb_array'",
        ),
    ],
)
def test_a_setup_that_cannot_record_is_refused_with_the_fix(config, env, message):
    with pytest.raises(InvalidArgumentError, match=message):
        recordable_sub_envs(env, config)


def test_replay_needs_sub_envs_of_one_spec():
    envs = [gym.make("CartPole-v1"), gym.make("Acrobot-v1")]
    with pytest.raises(InvalidArgumentError, match="one spec"):
        replay_spec(envs)
    assert "CartPole-v1" in replay_spec(envs[:1])


def test_the_recording_options_work_as_on_record_video(tmp_path):
    """keep_if, overlay and the data track: the wrappers' code, so the wrappers' results."""
    pytest.importorskip("PIL")
    even = lambda meta: meta.episode % 2 == 0  # noqa: E731
    videos = RunnerVideos(settings(tmp_path, keep_if=even, overlay=True))
    runner = Runner(videos, envs=1)
    runner.reset_all()
    ended = 0
    while ended < 4:
        ended += runner.step(0, ended % 2)
    close_runner_videos(runner)
    found = sidecars(tmp_path)
    assert found
    assert sorted(s["episode"] for s in found.values()) == [0, 2, 4]  # odd ones deleted; 4 open
    assert len(list(tmp_path.glob("*.mp4"))) == len(found)
    for stem, sidecar in found.items():
        band = sidecar["overlay"]["band_height"]
        assert band > 0
        assert decode(tmp_path / f"{stem}.mp4").height == 400 + band  # a band above the frame
        lines = (tmp_path / f"{stem}.track.jsonl").read_text().splitlines()
        assert len(lines) == sidecar["frames"]
