"""The wrappers' shared state machine (rlvideo.wrappers._machine), driven with no env.

A fake recorder notes every call; frames are small arrays. One test writes real videos.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pytest

from rlvideo._core.options import recorder_options
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._recorder import Recorder
from rlvideo.wrappers._machine import Triggers, VideoMachine, warn_if_unclosed

FRAME = np.zeros((8, 8, 3), np.uint8)
INF = float("inf")


class FakeRecorder:
    """What a machine calls on a recorder, noted as (method, video name, details)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.names: dict[int, str] = {}
        self.counts: dict[int, int] = {}
        self.started: list[dict[str, Any]] = []

    def start(self, name: str, **details: Any) -> int:
        video_id = len(self.names)
        self.names[video_id], self.counts[video_id] = name, 0
        self.started.append({"name": name, **details})
        self.calls.append(("start", name))
        return video_id

    def frame(self, video_id: int, frame: Any) -> int:
        self.counts[video_id] += 1
        self.calls.append(("frame", self.names[video_id]))
        return self.counts[video_id]

    def frames(self, video_id: int) -> int:
        return self.counts[video_id]

    def step(self, video_id: int, reward: Any, terminated: Any, truncated: Any, **kw: Any) -> None:
        self.calls.append(("step", self.names[video_id], reward, terminated, truncated))

    def show(self, video_id: int, reward: Any, *flags: Any, **kw: Any) -> None:
        self.calls.append(("show", self.names[video_id], reward))

    def reset(self, video_id: int, episode: int, info: Any = None) -> None:
        self.calls.append(("reset", self.names[video_id], episode, info))

    def stop(self, video_id: int) -> None:
        self.calls.append(("stop", self.names[video_id], self.counts[video_id]))

    def discard(self, video_id: int) -> None:
        self.calls.append(("discard", self.names[video_id]))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == kind]


def machine(video_length: float = INF, **triggers: Any) -> tuple[VideoMachine, FakeRecorder]:
    recorder = FakeRecorder()
    made = VideoMachine(
        recorder,  # type: ignore[arg-type]  # duck-typed
        name_prefix="rl-video", video_length=video_length, triggers=Triggers(**triggers),
    )  # fmt: skip
    return made, recorder


def play(m: VideoMachine, episodes: list[int]) -> None:
    """Episodes of the given lengths, as a wrapper drives the machine (reward 1 per step)."""
    for seed, steps in enumerate(episodes):
        m.begin_episode(seed)
        if m.recording:
            m.reset_frame({"seed": seed})
            m.capture(FRAME)
        for step in range(steps):
            m.begin_step()
            m.count_move(1.0, step == steps - 1, False, action=0, info={})
            if m.recording:
                m.capture(FRAME)


# -- triggers -------------------------------------------------------------------------------------
def test_episode_trigger_records_whole_episodes_each_ended_by_the_next_reset():
    m, rec = machine(episode=lambda e: e % 2 == 0)
    play(m, [3, 2, 4])
    assert rec.of("start") == [("start", "rl-video-episode-0"), ("start", "rl-video-episode-2")]
    assert rec.of("stop") == [("stop", "rl-video-episode-0", 4)]  # reset frame + 3 steps
    assert m.recording  # episode 2 goes on until the next reset (or close)
    assert [s["first_step"] for s in rec.started] == [0, 5]  # the step after the reset frame
    assert [s["seed"] for s in rec.started] == [0, 2]


def test_step_trigger_starts_with_the_frame_of_the_step_that_fired():
    m, rec = machine(video_length=2, step=lambda s: s == 3)
    play(m, [10])
    assert rec.of("start") == [("start", "rl-video-step-3")]
    assert rec.started[0]["first_step"] == 3
    assert (rec.started[0]["episode_step"], rec.started[0]["episode_return"]) == (3, 3.0)
    assert rec.of("stop") == [("stop", "rl-video-step-3", 2)]
    assert [call[0] for call in rec.calls] == ["start", "step", "frame", "step", "frame", "stop"]


def test_a_trigger_that_answers_no_bool_is_an_error_naming_it():
    m, _ = machine(step=lambda s: "yes")
    m.begin_episode()
    with pytest.raises(InvalidArgumentError, match=r"step_trigger\(0\) returned 'yes'"):
        m.begin_step()


# -- video_length, stop-if-full, resets mid-video -------------------------------------------------
def test_video_length_cuts_a_video_that_spans_a_reset():
    m, rec = machine(video_length=5, episode=lambda e: e == 0)
    play(m, [2, 6])
    assert rec.of("stop") == [("stop", "rl-video-episode-0", 5)]
    assert rec.of("reset") == [
        ("reset", "rl-video-episode-0", 0, {"seed": 0}),
        ("reset", "rl-video-episode-0", 1, {"seed": 1}),  # the video goes on into episode 1
    ]
    assert not m.recording


def test_a_whole_episode_video_stops_at_the_reset_a_limited_one_does_not():
    whole, rec_whole = machine(episode=lambda e: e == 0)
    limited, rec_limited = machine(video_length=100, episode=lambda e: e == 0)
    for m in (whole, limited):
        play(m, [2, 1])
    assert rec_whole.of("stop") == [("stop", "rl-video-episode-0", 3)]
    assert rec_limited.of("stop") == []
    assert limited.recording


def test_a_render_that_is_no_image_stops_the_video_with_a_warning(caplog):
    m, rec = machine(episode=lambda e: True)
    m.begin_episode()
    with caplog.at_level(logging.WARNING, logger="rlvideo.wrappers"):
        m.capture("not a frame")
    assert not m.recording
    assert rec.of("stop") == [("stop", "rl-video-episode-0", 0)]
    assert "expected type of frame returned by render" in caplog.text


def test_add_frame_does_not_stop_a_full_video_until_asked():
    m, rec = machine(video_length=1, episode=lambda e: True)
    m.begin_episode()
    m.add_frame(FRAME)
    m.add_frame(FRAME)  # rgb_array_list: the frames of a render() all go in
    assert m.recording
    m.stop_if_full()
    assert rec.of("stop") == [("stop", "rl-video-episode-0", 2)]


# -- moves within a step (multi-agent), show_move (SB3) -------------------------------------------
def test_moves_count_as_one_step_when_it_ends_and_a_partial_step_when_the_video_stops():
    m, rec = machine(episode=lambda e: True)
    m.begin_episode()
    m.count_move(1.0, step_end=False)
    m.count_move(2.0, True, False, action={"a": 0})  # the cycle's last move: one step of 3.0
    m.count_move(4.0, step_end=False)
    assert rec.of("step") == [("step", "rl-video-episode-0", 3.0, True, False)]
    assert (m.count.step, m.count.episode_return) == (1, 7.0)
    m.capture(FRAME)
    m.stop()
    assert rec.of("step")[-1] == ("step", "rl-video-episode-0", 4.0, False, False)


def test_a_single_move_step_passes_the_reward_as_given():
    m, rec = machine(episode=lambda e: True)
    m.begin_episode()
    reward = np.float32(0.5)
    m.count_move(reward)
    assert type(rec.of("step")[0][2]) is np.float32


def test_moves_summed_into_a_step_leave_the_envs_reward_arrays_alone():
    """A multi-objective env's reward vectors: summed into a new array, never into the first."""
    m, rec = machine(episode=lambda e: True)
    m.begin_episode()
    first = np.array([1, 2])
    m.count_move(first, step_end=False)
    m.count_move(np.array([0.5, 0.5]), False, False)
    assert first.tolist() == [1, 2]
    assert rec.of("step")[0][2].tolist() == [1.5, 2.5]
    assert m.count.step == 1
    assert type(m.count.step) is int


def test_show_move_counts_the_episode_but_not_the_video():
    m, rec = machine()
    m.begin_episode()
    m.start("manual", "manual")
    m.show_move(2.0)
    assert rec.of("show") == [("show", "manual", 2.0)]
    assert rec.of("step") == []
    assert m.count.episode_return == 2.0


# -- starting and stopping by hand, gc, discard ----------------------------------------------------
def test_start_while_recording_stops_the_video_in_progress_first():
    m, rec = machine()
    m.begin_episode()
    m.start("first", "manual")
    m.capture(FRAME)
    m.start("second", "manual", first_step=7, episode=3)
    assert [call[:2] for call in rec.calls] == [
        ("start", "first"), ("frame", "first"), ("stop", "first"), ("start", "second"),
    ]  # fmt: skip
    assert (rec.started[1]["first_step"], rec.started[1]["episode"]) == (7, 3)


def test_stop_without_a_video_is_an_error():
    m, _ = machine()
    with pytest.raises(InvalidArgumentError, match="no recording was started"):
        m.stop()


def test_gc_trigger_is_asked_with_the_episode_after_a_stop_not_after_a_discard():
    asked: list[int] = []
    m, rec = machine(gc=lambda e: asked.append(e) or False)
    m.begin_episode()
    m.begin_episode()
    m.start("kept", "manual")
    m.stop()
    m.start("dropped", "manual")
    m.stop(discard=True)
    assert asked == [1]
    assert rec.of("discard") == [("discard", "dropped")]


def test_a_per_env_stream_names_its_sub_env_and_records_it_in_metadata():
    m, rec = machine(episode=lambda e: True)
    m.env_index = 2
    m.begin_episode()
    assert rec.started[0]["name"] == "rl-video-env-2-episode-0"
    assert rec.started[0]["env_index"] == 2


# -- close and __del__ ----------------------------------------------------------------------------
def test_release_lets_go_of_the_video_counting_its_partial_step():
    m, rec = machine(episode=lambda e: True)
    m.begin_episode()
    m.count_move(1.0, step_end=False)
    m.release()
    assert not m.recording
    assert rec.of("step") == [("step", "rl-video-episode-0", 1.0, False, False)]
    assert rec.of("stop") == []  # the recorder's close() finishes it


def test_warn_if_unclosed_names_the_wrapper_and_the_fix(caplog):
    open_one, _ = machine(episode=lambda e: True)
    open_one.begin_episode()
    closed, _ = machine()
    with caplog.at_level(logging.WARNING, logger="rlvideo.wrappers"):
        warn_if_unclosed([closed], "RecordVideo", "env")
        assert caplog.text == ""
        warn_if_unclosed([open_one, closed], "RecordVideo", "env")
        assert "RecordVideo was not closed: the video in progress is kept as .incomplete. " in (
            caplog.text
        )
        assert "Call env.close() to finish it." in caplog.text
        caplog.clear()
        warn_if_unclosed([open_one, open_one], "VecVideoRecorder", "venv")
        assert "the videos in progress are kept" in caplog.text


@pytest.mark.parametrize("wrapper", ["gymnasium", "vector", "pettingzoo", "sb3"])
def test_every_wrappers_del_warns_through_the_machine_and_survives_no_init(wrapper, caplog):
    module = pytest.importorskip(f"rlvideo.wrappers.{wrapper}")
    cls = module.VecVideoRecorder if wrapper == "sb3" else module.RecordVideo
    if wrapper == "pettingzoo":
        cls = module.ParallelRecordVideo
    bare = object.__new__(cls)  # as Gymnasium's tests do: __init__ never ran
    with caplog.at_level(logging.WARNING, logger="rlvideo.wrappers"):
        bare.__del__()
        assert caplog.text == ""
        m, _ = machine(episode=lambda e: True)
        m.begin_episode()
        bare.__dict__["_machine" if wrapper != "vector" else "_tracks"] = (
            [m] if wrapper == "vector" else m
        )
        bare.__del__()
        bare.__dict__.clear()  # the real __del__ at collection has nothing to say
    assert "was not closed" in caplog.text


# -- with a real recorder: the files --------------------------------------------------------------
def test_with_a_recorder_the_videos_have_gym_names(tmp_path):
    recorder = Recorder(
        tmp_path, name_prefix="rl-video", fps=30, env_id=None,
        **recorder_options("test", {"encoder": "thread", "metadata": True}),
    )  # fmt: skip
    m = VideoMachine(
        recorder, name_prefix="rl-video", video_length=3,
        triggers=Triggers(episode=lambda e: e == 1, step=lambda s: s == 0),
    )  # fmt: skip
    play(m, [2, 4])
    recorder.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "rl-video-episode-1.json", "rl-video-episode-1.mp4", "rl-video-episode-1.track.jsonl",
        "rl-video-step-0.json", "rl-video-step-0.mp4", "rl-video-step-0.track.jsonl",
    ]  # fmt: skip


# -- the four wrappers drive it alike: the same track keys for the same kind of rollout ------------
FIELDS = {"frame", "episode", "step", "reward", "return", "terminated", "truncated"}


def _counter_env() -> Any:
    gym = pytest.importorskip("gymnasium")

    class Counter(gym.Env):  # type: ignore[misc]
        """Episodes of 3 steps; info says how many steps were taken."""

        metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}

        def __init__(self) -> None:
            self.render_mode = "rgb_array"
            self.action_space = gym.spaces.Discrete(2)
            self.observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
            self.t = 0

        def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
            super().reset(seed=seed)
            self.t = 0
            return np.zeros(1, np.float32), {"seen": 0}

        def step(self, action: Any) -> Any:
            self.t += 1
            return np.full(1, self.t, np.float32), 1.0, self.t >= 3, False, {"seen": self.t}

        def render(self) -> Any:
            return np.full((16, 16, 3), 40 * self.t, np.uint8)

    return Counter()


class _OneAgentParallel:
    """A PettingZoo parallel env of one agent, as _counter_env: infos by agent."""

    metadata: ClassVar[dict[str, Any]] = {"render_fps": 30, "name": "one_agent"}
    possible_agents: ClassVar[list[str]] = ["a"]
    render_mode = "rgb_array"

    def __init__(self) -> None:
        self.agents: list[str] = []
        self.t = 0

    def reset(self, seed: int | None = None, options: Any = None) -> Any:
        self.agents, self.t = ["a"], 0
        return {"a": np.zeros(1)}, {"a": {"seen": 0}}

    def step(self, actions: Any) -> Any:
        self.t += 1
        done = self.t >= 3
        if done:
            self.agents = []
        return {"a": np.zeros(1)}, {"a": 1.0}, {"a": done}, {"a": False}, {"a": {"seen": self.t}}

    def render(self) -> Any:
        return np.full((16, 16, 3), 40 * self.t, np.uint8)

    def close(self) -> None:
        pass


def _rollout(wrapper: str, folder: Any) -> Any:
    """Two episodes of 3 steps through ``wrapper``, recording episode 0; its track's path."""
    options: dict[str, Any] = {"encoder": "thread", "track": ["seen"]}
    if wrapper == "gymnasium":
        from rlvideo.wrappers.gymnasium import RecordVideo

        env = RecordVideo(_counter_env(), str(folder), episode_trigger=lambda e: e == 0, **options)
        for seed in range(2):
            env.reset(seed=seed)
            for _ in range(3):
                env.step(1)
        env.close()
        return folder / "rl-video-episode-0.track.jsonl"
    if wrapper == "vector":
        gym = pytest.importorskip("gymnasium")
        from rlvideo.wrappers.vector import RecordVideo as VectorRecordVideo

        envs = VectorRecordVideo(
            gym.vector.SyncVectorEnv([_counter_env, _counter_env]), str(folder), per_env=True,
            episode_trigger=lambda e: e == 0, **options,
        )  # fmt: skip
        envs.reset(seed=0)
        for _ in range(7):
            envs.step(np.ones(2, np.int64))
        envs.close()
        return folder / "rl-video-env-0-episode-0.track.jsonl"
    if wrapper == "sb3":
        pytest.importorskip("stable_baselines3")
        from stable_baselines3.common.vec_env import DummyVecEnv

        from rlvideo.wrappers.sb3 import VecVideoRecorder

        venv = VecVideoRecorder(
            DummyVecEnv([_counter_env]), str(folder), lambda s: s == 0, video_length=4, **options
        )
        venv.reset()
        for _ in range(6):
            venv.step(np.ones(1, np.int64))
        venv.close()
        return folder / "rl-video-step-0-to-step-4.track.jsonl"
    pytest.importorskip("pettingzoo")
    from rlvideo.wrappers.pettingzoo import RecordVideo as PettingZooRecordVideo

    options["track"] = ["a"]  # a multi-agent env's info is by agent
    env = PettingZooRecordVideo(
        _OneAgentParallel(), str(folder), episode_trigger=lambda e: e == 0, **options
    )
    for seed in range(2):
        env.reset(seed=seed)
        while env.agents:
            env.step({"a": 1})
    env.close()
    return folder / "rl-video-episode-0.track.jsonl"


@pytest.mark.parametrize("wrapper", ["gymnasium", "vector", "sb3", "pettingzoo"])
def test_every_wrapper_writes_the_same_track_keys(tmp_path, wrapper):
    """Reset frames: the fields and the reset's info; step frames: the step's action too.

    A multi-agent step's action is a dict by agent, which the track leaves out (as it leaves out
    any action that is not a few numbers), so PettingZoo's step frames have no ``action``.
    """
    import json

    lines = [json.loads(line) for line in _rollout(wrapper, tmp_path).read_text().splitlines()]
    assert len(lines) >= 4
    resets = [set(line) for line in lines if line["reward"] is None]
    steps = [set(line) for line in lines if line["reward"] is not None]
    action = set() if wrapper == "pettingzoo" else {"action"}
    assert resets
    assert all(keys == FIELDS | {"info"} for keys in resets)
    assert steps
    assert all(keys == FIELDS | {"info"} | action for keys in steps)
