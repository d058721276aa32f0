"""Real env families, recorded for real: Atari (ALE), MiniGrid and Box2D, on the CPU.

Each case records a short rollout through ``save_video``, ``RecordVideo`` or the vector
``RecordVideo`` and reads the video back with PyAV (``tests.helpers.decode``): the decoded frame
count is the number of frames rendered, the size is the render size (padded to even in MP4,
kept as is in GIF), the frame rate is ``env.metadata["render_fps"]`` and every decoded frame is
within a small RMS error of a copy of what ``render()`` returned. The copies are taken by
:class:`RenderCopies`, a wrapper beneath rlvideo's, so they are exactly the frames it was given.

MuJoCo is in tests/test_mujoco.py. Every family is in the dev extra: one that is not installed
fails, by name, rather than being skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.helpers import Decoded, decode, folder_names, rms

gym = pytest.importorskip("gymnasium")

import rlvideo  # noqa: E402 (after the skip)
import rlvideo.wrappers.vector  # noqa: E402

TOLERANCE = 8.0  # RMS on 0-255, per frame: lossy codecs, yuv420p chroma
# MiniGrid with 9-pixel tiles draws 1-pixel lines and a few-pixel agent: yuv420p halves their
# colour resolution, which alone costs ~9 RMS (measured: still 9.0 at crf=0; luma alone 4.2)
FINE = 12.0

# The minigrid-odd GIF cases are the regression test for FFmpeg's gif transdiff flag (on by
# default), which with a fresh palette per frame left a region of frame 5 in frame 6 (RMS 31):
# rlvideo turns it off (rlvideo._core.codecs).


class RenderCopies(gym.Wrapper):  # type: ignore[misc]
    """Keeps a copy of every frame ``render()`` returns, beneath the recording wrapper."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.copies: list[np.ndarray] = []

    def render(self) -> Any:
        out = self.env.render()
        if isinstance(out, np.ndarray):
            self.copies.append(out.copy())
        return out


def _needs(module: str, family: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # the dev extra installs every family: a missing one is a failure
        pytest.fail(f"{family} envs need {module}, which the dev extra installs: {exc}")


def _register(family: str) -> None:
    if family == "atari":
        ale_py = _needs("ale_py", "Atari")
        gym.register_envs(ale_py)
    elif family == "minigrid":
        _needs("minigrid", "MiniGrid")  # importing it registers its envs
    elif family == "box2d":
        _needs("Box2D", "Box2D")


# name: (family, env id, make kwargs, render (height, width), RMS tolerance)
ENVS: dict[str, tuple[str, str, dict[str, Any], tuple[int, int], float]] = {
    "pong": ("atari", "ALE/Pong-v5", {}, (210, 160), TOLERANCE),
    "minigrid": ("minigrid", "MiniGrid-Empty-5x5-v0", {}, (160, 160), TOLERANCE),
    "minigrid-odd": ("minigrid", "MiniGrid-Empty-5x5-v0", {"tile_size": 9}, (45, 45), FINE),
    "lunarlander": ("box2d", "LunarLander-v3", {}, (400, 600), TOLERANCE),
    "carracing": ("box2d", "CarRacing-v3", {}, (400, 600), TOLERANCE),
}


def _make(name: str, render_mode: str = "rgb_array") -> Any:
    family, env_id, kwargs, *_ = ENVS[name]
    _register(family)
    return gym.make(env_id, render_mode=render_mode, **kwargs)


def _actions(env: Any, seed: int = 0) -> Callable[[], Any]:
    space = env.action_space
    space.seed(seed)
    return space.sample


def _rollout(env: Any, steps: int, seed: int = 0) -> None:
    """``steps`` random but seeded steps, resetting when an episode ends."""
    sample = _actions(env, seed)
    env.reset(seed=seed)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(sample())
        vector = hasattr(env, "num_envs")  # vector envs reset themselves
        if not vector and (terminated or truncated):
            env.reset()


def _even(height: int, width: int) -> tuple[int, int]:
    return height + height % 2, width + width % 2


def _check(
    video: Decoded,
    expected: list[np.ndarray],
    fps: float,
    video_format: str,
    tolerance: float = TOLERANCE,
) -> None:
    """Count, size, rate and pixels of ``video`` against the frames it was given."""
    assert expected, "nothing was rendered"
    height, width = expected[0].shape[:2]
    size = (height, width) if video_format == "gif" else _even(height, width)
    assert video.count == len(expected)
    assert (video.height, video.width) == size
    assert video.frames[0].shape[:2] == size
    assert video.fps == pytest.approx(fps, rel=0.02)
    for index, (got, want) in enumerate(zip(video.frames, expected, strict=True)):
        if want.ndim == 2:  # gray: decoded as rgb24, R = G = B
            want = np.repeat(want[:, :, None], 3, axis=2)
        error = rms(got[:height, :width], want)
        assert error < (TOLERANCE if video_format == "gif" else tolerance), (
            f"frame {index}: RMS {error:.2f}"
        )
    if size != (height, width):  # padding repeats the edge: no new colour at the border
        last = video.frames[-1].astype(np.int16)
        if width % 2:
            assert np.abs(last[:height, width] - last[:height, width - 1]).mean() < tolerance
        if height % 2:
            assert np.abs(last[height, :width] - last[height - 1, :width]).mean() < tolerance


def _distinct(frames: list[np.ndarray]) -> None:
    """The rollout moves: a video of one repeated frame would not test the order."""
    assert max(rms(frames[0], frame) for frame in frames) > 1.0


# -- save_video ------------------------------------------------------------------------------
SAVE_CASES = [
    ("pong", "mp4", 40),
    ("minigrid", "mp4", 20),
    ("minigrid-odd", "mp4", 20),
    pytest.param("minigrid-odd", "gif", 20),
    ("lunarlander", "mp4", 30),
    ("lunarlander", "webm", 15),
    ("carracing", "mp4", 20),
]


@pytest.mark.parametrize(("name", "video_format", "steps"), SAVE_CASES)
def test_save_video_of_rendered_frames(tmp_path, name, video_format, steps):
    env = RenderCopies(_make(name))
    sample = _actions(env)
    env.reset(seed=0)
    frames = [env.render()]
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(sample())
        frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    assert frames[0].shape[:2] == ENVS[name][3]
    _distinct(env.copies)

    paths = rlvideo.save_video(
        frames, tmp_path, fps=env.metadata["render_fps"], format=video_format
    )

    assert [p.name for p in paths] == [f"rl-video-episode-0.{video_format}"]
    assert folder_names(tmp_path) == {paths[0].name}
    fps = env.metadata["render_fps"]
    _check(decode(paths[0]), env.copies, fps, video_format, ENVS[name][4])


def _gray_observations(kind: str) -> tuple[list[np.ndarray], float]:
    """2-D uint8 observations of Pong and the env's render fps."""
    _register("atari")
    if kind == "ale-grayscale":
        env = gym.make("ALE/Pong-v5", obs_type="grayscale")
    else:
        _needs("cv2", "AtariPreprocessing")
        env = gym.make("ALE/Pong-v5", frameskip=1)  # AtariPreprocessing skips frames itself
        env = gym.wrappers.AtariPreprocessing(env)
    sample = _actions(env)
    obs, _ = env.reset(seed=0)
    observations = [obs.copy()]
    for _ in range(60):
        obs, _, terminated, truncated, _ = env.step(sample())
        observations.append(obs.copy())
        if terminated or truncated:
            break
    fps = env.metadata["render_fps"]
    env.close()
    return observations, fps


@pytest.mark.parametrize(
    ("kind", "size"), [("ale-grayscale", (210, 160)), ("atari-preprocessing", (84, 84))]
)
def test_save_video_of_gray_atari_observations(tmp_path, kind, size):
    observations, fps = _gray_observations(kind)
    assert observations[0].shape == size
    assert observations[0].dtype == np.uint8
    _distinct(observations)

    paths = rlvideo.save_video(list(observations), tmp_path, fps=fps)

    _check(decode(paths[0]), observations, fps, "mp4")


# -- RecordVideo -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "video_format", "length"),
    [
        ("pong", "mp4", 30),
        ("minigrid", "mp4", 15),
        ("minigrid-odd", "mp4", 15),
        pytest.param("minigrid-odd", "gif", 15),
        ("lunarlander", "mp4", 25),
        ("carracing", "mp4", 12),
    ],
)
def test_record_video(tmp_path, name, video_format, length):
    copies = RenderCopies(_make(name))
    env = rlvideo.RecordVideo(
        copies, str(tmp_path), episode_trigger=lambda e: e == 0, video_length=length,
        format=video_format,
    )  # fmt: skip
    _rollout(env, length + 10)
    env.close()

    assert len(copies.copies) == length  # rendered only while recording
    _distinct(copies.copies)
    assert folder_names(tmp_path) == {f"rl-video-episode-0.{video_format}"}
    video = decode(tmp_path / f"rl-video-episode-0.{video_format}")
    _check(video, copies.copies, copies.metadata["render_fps"], video_format, ENVS[name][4])


def test_record_video_of_whole_short_episodes(tmp_path):
    """video_length=0: one video per episode, each frame of it (reset frame first)."""
    _register("minigrid")
    copies = RenderCopies(gym.make("MiniGrid-Empty-5x5-v0", render_mode="rgb_array", max_steps=6))
    env = rlvideo.RecordVideo(copies, str(tmp_path), episode_trigger=lambda e: e < 2)
    sample = _actions(env)
    env.reset(seed=0)
    ends = []
    while len(ends) < 3:
        _, _, terminated, truncated, _ = env.step(sample())
        if terminated or truncated:
            ends.append(len(copies.copies))
            env.reset()
    env.close()

    assert folder_names(tmp_path) == {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    first, second = ends[0], ends[1]
    fps = copies.metadata["render_fps"]
    _check(decode(tmp_path / "rl-video-episode-0.mp4"), copies.copies[:first], fps, "mp4")
    _check(decode(tmp_path / "rl-video-episode-1.mp4"), copies.copies[first:second], fps, "mp4")


# -- vector RecordVideo ----------------------------------------------------------------------
VECTOR_CASES = ["pong", "minigrid-odd", "lunarlander"]


def _make_vec(name: str, num_envs: int = 2) -> Any:
    family, env_id, kwargs, *_ = ENVS[name]
    _register(family)
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="sync", render_mode="rgb_array",
        wrappers=[RenderCopies], **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("name", VECTOR_CASES)
def test_vector_record_video_per_env(tmp_path, name):
    length = 12
    envs = _make_vec(name)
    recorder = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), episode_trigger=lambda e: e == 0, video_length=length, per_env=True
    )
    _rollout(recorder, length + 6)
    recorder.close()

    names = {f"rl-video-env-{k}-episode-0.mp4" for k in range(2)}
    assert folder_names(tmp_path) == names
    fps = envs.metadata["render_fps"]
    for k, sub_env in enumerate(envs.envs):
        copies = sub_env.copies
        assert len(copies) >= length
        _distinct(copies[:length])
        video = decode(tmp_path / f"rl-video-env-{k}-episode-0.mp4")
        _check(video, copies[:length], fps, "mp4", ENVS[name][4])


@pytest.mark.parametrize("name", VECTOR_CASES)
def test_vector_record_video_tiled(tmp_path, name):
    """One tiled video: sub-env 0's frame in the top-left tile, the other beside or below it."""
    length = 10
    envs = _make_vec(name)
    recorder = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), episode_trigger=lambda e: e == 0, video_length=length
    )
    _rollout(recorder, length + 5)
    recorder.close()

    assert folder_names(tmp_path) == {"rl-video-episode-0.mp4"}
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    first, second = (sub_env.copies[:length] for sub_env in envs.envs)
    height, width = first[0].shape[:2]
    assert video.count == length
    assert video.fps == pytest.approx(envs.metadata["render_fps"], rel=0.02)
    beside = (video.height, video.width) == _even(height, 2 * width)
    below = (video.height, video.width) == _even(2 * height, width)
    assert beside or below, (video.height, video.width)
    tolerance = ENVS[name][4]
    for index, frame in enumerate(video.frames):
        assert rms(frame[:height, :width], first[index]) < tolerance, index
        tile = frame[:height, width : 2 * width] if beside else frame[height : 2 * height, :width]
        assert rms(tile, second[index]) < tolerance, index
