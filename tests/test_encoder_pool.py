"""Videos spread over several background encoders (recording._pool)."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import rlvideo.recording._recorder as recorder_module
from rlvideo._core.spec import WriterSpec
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._pool import EncoderPool, worker_count
from rlvideo.wrappers.vector import RecordVideo
from tests.helpers import decode, gradient_frames, rms

TOLERANCE = 6.0  # RMS on 0-255: as tests/test_encoder.py holds MP4 to


def x264_options(path) -> dict[str, str]:
    """The settings x264 wrote into the stream (its SEI user-data string)."""
    found = re.search(rb"x264 - core .*? options: ([^\x00]*)", path.read_bytes())
    assert found is not None, "no x264 SEI in the file"
    pairs = (item.split("=", 1) for item in found.group(1).decode().split() if "=" in item)
    return dict(pairs)


def moving(count: int, height: int, width: int) -> list[np.ndarray]:
    """Smooth gradients that move: lossy H.264 keeps them within the tolerance."""
    return gradient_frames(count, height, width)


# -- several encoders --------------------------------------------------------------------
def test_worker_count_leaves_the_env_a_core():
    assert [worker_count("process", cores=c) for c in (1, 2, 3, 5, 16)] == [1, 1, 2, 4, 4]
    assert worker_count("thread", cores=16) == 1
    assert worker_count("process") >= 1


def test_pool_spreads_videos_and_reuses_idle_encoders(tmp_path):
    done = []
    pool = EncoderPool(lambda: BackgroundEncoder(kind="thread", on_done=done.append), 2)
    spec = WriterSpec.build(format="mp4", fps=30)
    for k in range(3):
        pool.open_video(k, tmp_path / f"v{k}.mp4", spec)
    assert len(pool.encoders) == 2  # never more than asked
    assert pool._of == {0: 0, 1: 1, 2: 0}  # the third goes to the least busy
    for step in range(6):
        for k in range(3):
            pool.write(k, np.full((32, 32, 3), 40 * k + step, np.uint8))
    pool.close_video(1)
    pool.open_video(3, tmp_path / "v3.mp4", spec)  # encoder 1 is idle again: no new one
    assert len(pool.encoders) == 2
    assert pool._of[3] == 1
    pool.write(3, np.zeros((32, 32, 3), np.uint8))
    pool.shutdown()
    assert sorted(r.path.name for r in done) == ["v0.mp4", "v1.mp4", "v2.mp4", "v3.mp4"]
    assert [decode(tmp_path / f"v{k}.mp4").count for k in range(4)] == [6, 6, 6, 1]


def test_pool_one_worker_is_one_encoder(tmp_path):
    pool = EncoderPool(lambda: BackgroundEncoder(kind="thread"), 1)
    spec = WriterSpec.build(format="mp4", fps=30)
    for k in range(3):
        pool.open_video(k, tmp_path / f"v{k}.mp4", spec)
    assert len(pool.encoders) == 1
    pool.shutdown(abort=True)


def test_pool_rejects_bad_workers_and_unknown_videos():
    with pytest.raises(InvalidArgumentError, match="workers"):
        EncoderPool(lambda: BackgroundEncoder(kind="thread"), 0)
    pool = EncoderPool(lambda: BackgroundEncoder(kind="thread"), 2)
    with pytest.raises(InvalidArgumentError, match="not open"):
        pool.write(5, np.zeros((8, 8, 3), np.uint8))
    pool.shutdown()


def test_per_env_vector_videos_over_two_worker_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(recorder_module, "worker_count", lambda kind: 2)
    envs = gym.make_vec(
        "CartPole-v1", num_envs=3, vectorization_mode="sync", render_mode="rgb_array",
        max_episode_steps=20,
    )  # fmt: skip
    recorded = RecordVideo(envs, str(tmp_path), per_env=True, episode_trigger=lambda e: e == 0)
    frames: dict[int, list[np.ndarray]] = {k: [] for k in range(3)}
    recorded.reset(seed=0)
    for k, frame in enumerate(envs.render()):
        frames[k].append(frame)
    for step in range(20):  # alternating pushes: no pole falls within 20 steps
        _, _, terminated, _, _ = recorded.step(np.full(3, step % 2, np.int64))
        assert not terminated.any()
        for k, frame in enumerate(envs.render()):
            frames[k].append(frame)
    pool = recorded._recorder._encoder
    assert isinstance(pool, EncoderPool)
    assert len(pool.encoders) == 2
    recorded.close()
    assert {p.name for p in tmp_path.glob("*.mp4")} == {
        f"rl-video-env-{k}-episode-0.mp4" for k in range(3)
    }
    for k in range(3):
        video = decode(tmp_path / f"rl-video-env-{k}-episode-0.mp4")
        assert video.count == 21  # the reset frame and one per step (episodes end at 20)
        for original, decoded in zip(frames[k], video.frames, strict=True):
            assert rms(original, decoded) < TOLERANCE


class _Recording(BackgroundEncoder):
    """A thread encoder that notes the spec each video was opened with."""

    def __init__(self) -> None:
        super().__init__(kind="thread")
        self.specs: dict[int, WriterSpec] = {}

    def open_video(self, video_id, path, spec):
        self.specs[video_id] = spec
        super().open_video(video_id, path, spec)


@pytest.mark.parametrize(("spare", "threads"), [(3.0, None), (2.0, None), (1.5, 1), (0.0, 1)])
def test_a_lone_video_uses_threads_only_with_cores_to_spare(tmp_path, spare, threads):
    encoder = _Recording()
    pool = EncoderPool(lambda: encoder, 1, spare=lambda: spare)
    pool.open_video(0, tmp_path / "a.mp4", WriterSpec.build(format="mp4", fps=30))
    assert encoder.specs[0].threads == threads
    pool.shutdown(abort=True)


def test_a_second_video_and_a_users_threads_1_stay_on_one_thread(tmp_path):
    encoder = _Recording()
    pool = EncoderPool(lambda: encoder, 1, spare=lambda: 16.0)
    spec = WriterSpec.build(format="mp4", fps=30)
    pool.open_video(0, tmp_path / "a.mp4", spec)
    pool.open_video(1, tmp_path / "b.mp4", spec)  # while the first is open
    pool.close_video(0)
    pool.close_video(1)
    pool.open_video(2, tmp_path / "c.mp4", WriterSpec.build(format="mp4", fps=30, threads=1))
    assert [encoder.specs[k].threads for k in range(3)] == [None, 1, 1]
    pool.shutdown(abort=True)
