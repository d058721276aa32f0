"""rlvideo.wrappers.pettingzoo.RecordVideo against real PettingZoo envs, decoded back with PyAV."""

from __future__ import annotations

import json
import math
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest

pettingzoo = pytest.importorskip("pettingzoo")

from pettingzoo.utils import BaseParallelWrapper, BaseWrapper  # noqa: E402

import rlvideo  # noqa: E402
from rlvideo.errors import InvalidArgumentError, RenderModeError  # noqa: E402
from rlvideo.wrappers.pettingzoo import AECRecordVideo, ParallelRecordVideo, RecordVideo  # noqa: E402
from tests.helpers import decode, folder_names, rms  # noqa: E402

CONNECT_FOUR = "classic/connect_four-v3"  # AEC, renders 774x891 (odd width), 2 fps
TICTACTOE = "classic/tictactoe-v3"  # AEC, 1000x1000, 1 fps
PISTONBALL = "butterfly/pistonball-v6"  # parallel, 560x880, 20 fps
RMS_TOLERANCE = 8.0  # H.264 at the default crf on flat, sharp-edged boards


class AECSpy(BaseWrapper):
    """Keeps a copy of every frame the recorder asked the env for."""

    def __init__(self, env):
        super().__init__(env)
        self.frames = []

    def render(self):
        frame = self.env.render()
        self.frames.append(frame.copy())
        return frame


class ParallelSpy(BaseParallelWrapper):
    def __init__(self, env):
        super().__init__(env)
        self.frames = []

    def render(self):
        frame = self.env.render()
        self.frames.append(frame.copy())
        return frame


def aec(env_id=CONNECT_FOUR, **kwargs):
    return pettingzoo.make("aec", env_id, render_mode="rgb_array", **kwargs)


def parallel(max_cycles, **kwargs):
    return pettingzoo.make(
        "parallel", PISTONBALL, render_mode="rgb_array", max_cycles=max_cycles, **kwargs
    )


def play(env, seed, rng, moves=None):
    """One AEC game with random legal moves (or the given columns); returns (moves, reward)."""
    env.reset(seed=seed)
    played, reward, scripted = 0, 0.0, list(moves or [])
    for _ in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)  # the dead agent's step: part of the AEC API
            continue
        legal = np.flatnonzero(obs["action_mask"])
        env.step(scripted.pop(0) if scripted else int(rng.choice(legal)))
        played += 1
        reward += sum(env.rewards.values())
    return played, reward


def check_pixels(video, rendered):
    """Decoded frames match what render() returned, the padding aside."""
    height, width = rendered[0].shape[:2]
    assert (video.width, video.height) == (width + width % 2, height + height % 2)
    for index in sorted({0, len(rendered) // 2, len(rendered) - 1}):
        assert rms(video.frames[index][:height, :width], rendered[index]) < RMS_TOLERANCE, index


def sidecar(folder, name):
    return json.loads((folder / f"{name}.json").read_text())


def test_aec_videos_hold_the_reset_frame_and_one_frame_per_move(tmp_path):
    spy = AECSpy(aec())
    env = RecordVideo(spy, str(tmp_path), episode_trigger=lambda e: True, metadata=True)
    assert isinstance(env, AECRecordVideo)
    rng = np.random.default_rng(0)
    games = [play(env, seed, rng) for seed in (3, 4)]
    env.close()
    assert folder_names(tmp_path) == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.json", "rl-video-episode-0.track.jsonl",
        "rl-video-episode-1.mp4", "rl-video-episode-1.json", "rl-video-episode-1.track.jsonl",
    }  # fmt: skip
    assert len(spy.frames) == sum(moves + 1 for moves, _ in games)  # dead steps: no frame
    first = 0
    first_step = 0
    for episode, (moves, reward) in enumerate(games):
        video = decode(tmp_path / f"rl-video-episode-{episode}.mp4")
        rendered = spy.frames[first : first + moves + 1]
        first += moves + 1
        assert video.count == moves + 1
        assert video.fps == 2  # connect_four's render_fps
        assert (video.width, video.height) == (892, 774)  # 891 wide, padded to even
        check_pixels(video, rendered)
        meta = sidecar(tmp_path, f"rl-video-episode-{episode}")
        cycles = math.ceil(moves / 2)  # two players; the winning move ends its cycle
        assert meta["kind"] == "episode"
        assert meta["episode"] == episode
        assert meta["first_step"] == first_step
        assert meta["steps"] == cycles
        assert meta["frames"] == moves + 1
        assert meta["episode_return"] == pytest.approx(reward)  # summed over agents
        assert meta["seed"] == 3 + episode
        assert meta["env_id"] == "connect_four_v3"
        assert meta["fps"] == 2.0
        assert meta["terminated"] is True
        assert meta["cut_short"] is False
        first_step += cycles
    assert env.step_id == first_step - 1


# Columns that fill the bottom row without four in a row: ten moves, five cycles, no winner.
NO_WIN = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2]


def test_aec_step_trigger_counts_cycles_of_every_agent_moving(tmp_path):
    env = RecordVideo(
        aec(), str(tmp_path), step_trigger=lambda s: s == 2, video_length=3, metadata=True,
        encoder="thread",
    )  # fmt: skip
    env.reset(seed=0)
    after_move = []
    for column in NO_WIN:
        env.step(column)
        after_move.append(env.render().copy())
    assert env.step_id == 4  # cycles 0..4
    assert not env.recording
    env.close()
    assert folder_names(tmp_path) == {
        "rl-video-step-2.mp4", "rl-video-step-2.json", "rl-video-step-2.track.jsonl",
    }  # fmt: skip
    video = decode(tmp_path / "rl-video-step-2.mp4")
    assert video.count == 3
    # cycle 2 ends with the sixth move (index 5): the video starts with the frame after it
    check_pixels(video, after_move[5:8])
    assert rms(video.frames[0][:774, :891], after_move[4]) > RMS_TOLERANCE  # a different board
    meta = sidecar(tmp_path, "rl-video-step-2")
    assert (meta["kind"], meta["first_step"], meta["frames"]) == ("step", 2, 3)
    assert meta["steps"] == 2  # the rest of cycle 2's accounting, then cycle 3
    assert meta["cut_short"] is False  # full: it ended by video_length, not by close()


def test_parallel_video_holds_the_reset_frame_and_one_frame_per_step(tmp_path):
    spy = ParallelSpy(parallel(max_cycles=20))
    env = RecordVideo(spy, str(tmp_path), metadata=True)  # capped cubic: episode 0
    assert isinstance(env, ParallelRecordVideo)
    assert isinstance(env, BaseParallelWrapper)
    env.reset(seed=0)
    steps, total = 0, 0.0
    while env.agents:
        _, rewards, _, _, _ = env.step({a: env.action_space(a).sample() for a in env.agents})
        steps += 1
        total += sum(rewards.values())
    env.close()
    assert steps == 20
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == len(spy.frames) == 21
    assert video.fps == 20
    assert (video.width, video.height) == (880, 560)
    check_pixels(video, spy.frames)
    meta = sidecar(tmp_path, "rl-video-episode-0")
    assert (meta["steps"], meta["frames"], meta["first_step"]) == (20, 21, 0)
    assert meta["truncated"] is True  # max_cycles
    assert meta["cut_short"] is False
    assert meta["episode_return"] == pytest.approx(total)
    assert meta["env_id"] == "pistonball_v6"


def test_parallel_step_videos_are_named_by_step(tmp_path):
    env = RecordVideo(
        parallel(max_cycles=25), str(tmp_path), step_trigger=lambda s: s % 10 == 0,
        video_length=4, encoder="thread",
    )  # fmt: skip
    env.reset(seed=1)
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
    env.close()
    names = ["rl-video-step-0.mp4", "rl-video-step-10.mp4", "rl-video-step-20.mp4"]
    assert folder_names(tmp_path) == set(names)
    assert [p.name for p in env.saved_videos] == names
    assert [decode(tmp_path / name).count for name in names] == [4, 4, 4]


def test_default_trigger_is_the_capped_cubic_schedule_and_fps_can_be_set(tmp_path):
    env = RecordVideo(aec(TICTACTOE), str(tmp_path), fps=5, name_prefix="ttt", encoder="thread")
    rng = np.random.default_rng(1)
    for seed in range(3):
        play(env, seed, rng)
    env.close()
    assert folder_names(tmp_path) == {"ttt-episode-0.mp4", "ttt-episode-1.mp4"}
    assert decode(tmp_path / "ttt-episode-0.mp4").fps == 5


def test_keep_if_and_on_video_saved(tmp_path):
    saved = []
    env = RecordVideo(
        aec(TICTACTOE), str(tmp_path), episode_trigger=lambda e: True, encoder="thread",
        keep_if=lambda meta: meta.episode == 1,
        on_video_saved=lambda path, meta: saved.append((path, meta)),
    )  # fmt: skip
    rng = np.random.default_rng(2)
    games = [play(env, seed, rng) for seed in range(2)]
    env.close()
    assert folder_names(tmp_path) == {"rl-video-episode-1.mp4"}
    assert [path for path, _ in saved] == [tmp_path / "rl-video-episode-1.mp4"]
    meta = saved[0][1]
    assert isinstance(meta, rlvideo.VideoMetadata)
    assert (meta.kind, meta.episode, meta.frames) == ("episode", 1, games[1][0] + 1)


def test_close_mid_episode_saves_the_video_cut_short(tmp_path):
    env = RecordVideo(aec(), str(tmp_path), episode_trigger=lambda e: True, metadata=True,
                      encoder="thread")  # fmt: skip
    env.reset(seed=0)
    for column in NO_WIN[:3]:
        env.step(column)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 4
    meta = sidecar(tmp_path, "rl-video-episode-0")
    assert meta["cut_short"] is True
    assert meta["steps"] == 2  # one cycle and the partial one
    assert meta["terminated"] is False


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_an_exception_keeps_the_video_as_incomplete(tmp_path, encoder):
    env = RecordVideo(parallel(max_cycles=50), str(tmp_path), episode_trigger=lambda e: True,
                      metadata=True, encoder=encoder)  # fmt: skip

    def train():
        with env:  # closed as the exception leaves the block (issue 19, item 9)
            env.reset(seed=0)
            for _ in range(5):
                env.step({a: env.action_space(a).sample() for a in env.agents})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        train()
    assert folder_names(tmp_path) == {
        "rl-video-episode-0.incomplete.mp4", "rl-video-episode-0.incomplete.track.jsonl",
    }  # fmt: skip
    assert decode(tmp_path / "rl-video-episode-0.incomplete.mp4").count == 6


def test_the_wrapper_is_chosen_by_the_env_and_checked(tmp_path):
    env = RecordVideo(aec(TICTACTOE), str(tmp_path), encoder="thread")
    assert isinstance(env, AECRecordVideo)
    assert isinstance(env, RecordVideo)
    assert isinstance(env, BaseWrapper)
    assert env.frames_per_sec == 1
    assert env.possible_agents == ["player_1", "player_2"]  # the env's attributes reach through
    env.close()
    with pytest.raises(RenderModeError, match="rgb_array"):
        RecordVideo(pettingzoo.make("aec", TICTACTOE), str(tmp_path))
    with pytest.raises(InvalidArgumentError, match=r"for a Gymnasium env use rlvideo\.RecordVideo"):
        RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="unexpected keyword argument 'fromat'"):
        RecordVideo(aec(TICTACTOE), str(tmp_path), fromat="gif")
    with pytest.raises(InvalidArgumentError, match="video_length"):
        RecordVideo(parallel(max_cycles=5), str(tmp_path), video_length=-1)


# -- rlvideo.RecordVideo (Gymnasium) names the right path for other envs -------------------------
@pytest.mark.parametrize("make", [aec, lambda: parallel(max_cycles=5)], ids=["aec", "parallel"])
def test_gymnasium_wrapper_points_pettingzoo_envs_to_the_pettingzoo_wrapper(tmp_path, make):
    with pytest.raises(InvalidArgumentError, match=r"rlvideo\.pettingzoo\.RecordVideo"):
        rlvideo.RecordVideo(make(), str(tmp_path))
    assert folder_names(tmp_path) == set()


def test_gymnasium_wrapper_points_old_gym_envs_to_save_video(tmp_path):
    class OldGymEnv:  # what gym 0.26's Env looks like, without gym
        metadata: ClassVar[dict[str, list[str]]] = {"render_modes": ["rgb_array"]}
        render_mode = "rgb_array"

        def step(self, action): ...
        def reset(self, *, seed=None, options=None): ...
        def render(self): ...

    OldGymEnv.__module__ = "gym.core"
    with pytest.raises(InvalidArgumentError, match=r"old gym package.*rlvideo\.save_video"):
        rlvideo.RecordVideo(OldGymEnv(), str(tmp_path))


def test_gymnasium_envs_with_agent_like_attributes_are_still_gymnasium_envs(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.agents = ["cart"]  # a Gymnasium env is never mistaken for a PettingZoo one
    env = rlvideo.RecordVideo(env, str(tmp_path), episode_trigger=lambda e: True, encoder="thread")
    env.reset(seed=0)
    env.step(0)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 2


# -- issue 19, item 19: the data track says what the env did, frame by frame ----------------------
def test_track_of_a_step_video_starting_mid_episode_and_spanning_episodes(tmp_path):
    """Episodes of 4 steps; the video starts after step 2 (its first frame: after the third
    step of episode 0) and holds 8 frames: across the reset into episode 1 and on to 2."""
    env = RecordVideo(
        parallel(max_cycles=4), str(tmp_path), step_trigger=lambda s: s == 2, video_length=8,
        track=True, encoder="thread",
    )  # fmt: skip
    values = []  # (episode, step, return) after each frame the env rendered
    for episode in range(3):
        env.reset(seed=episode)
        step, total = 0, 0.0
        values.append((episode, 0, 0.0))
        while env.agents:
            _, rewards, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
            step, total = step + 1, total + sum(float(r) for r in rewards.values())
            values.append((episode, step, total))
    env.close()
    lines = [
        json.loads(line)
        for line in (tmp_path / "rl-video-step-2.track.jsonl").read_text().splitlines()
    ]
    assert len(lines) == decode(tmp_path / "rl-video-step-2.mp4").count == 8
    expected = values[
        3:11
    ]  # after steps 3, 4 of episode 0; its reset and 4 steps; episode 2's reset
    got = [(line["episode"], line["step"], line["return"]) for line in lines]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert [g[2] for g in got] == pytest.approx([e[2] for e in expected])
    assert [line["reward"] is None for line in lines] == [e[1] == 0 for e in expected]


def test_aec_track_counts_cycles_within_each_episode(tmp_path):
    env = RecordVideo(
        aec(TICTACTOE), str(tmp_path), step_trigger=lambda s: s == 1, video_length=6,
        track=True, encoder="thread",
    )  # fmt: skip
    env.reset(seed=0)
    for square in (0, 3):  # cycle 0: X, O
        env.step(square)
    env.step(1)  # cycle 1 begins: the video starts when it ends
    env.step(4)
    for square in (2, 5):  # X wins on the top row; then the episode is over
        env.step(square)
        if not env.agents or all(env.terminations.values()):
            break
    env.reset(seed=1)
    env.step(0)
    env.step(4)
    env.close()
    lines = [
        json.loads(line)
        for line in (tmp_path / "rl-video-step-1.track.jsonl").read_text().splitlines()
    ]
    got = [(line["episode"], line["step"]) for line in lines]
    # after cycle 1 (step 2); X's winning move ends the episode and its cycle (step 3);
    # the reset frame of episode 1; X's move (mid-cycle, still step 0); O's (step 1)
    assert got == [(0, 2), (0, 3), (1, 0), (1, 0), (1, 1)]
