"""torch and JAX frames through save_video and RecordVideo, on a real env's renders (CPU)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlvideo
from rlvideo.cli.demo import balancing_policy
from tests.helpers import decode, rms

torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")

FPS = gym.make("CartPole-v1").metadata["render_fps"]


class TensorRender(gym.Wrapper):  # type: ignore[misc]
    """CartPole whose render() gives what a GPU simulator's camera does; keeps the NumPy frames."""

    def __init__(self, env: Any, kind: str) -> None:
        super().__init__(env)
        self.kind = kind
        self.copies: list[np.ndarray] = []

    def render(self) -> Any:
        frame = self.env.render()
        self.copies.append(frame.copy())
        if self.kind == "torch-chw-float":  # TorchRL, IsaacLab: (C, H, W) float in [0, 1]
            return torch.from_numpy(frame).permute(2, 0, 1).float() / 255
        if self.kind == "torch-batch-of-one":  # ManiSkill: (1, H, W, 3) uint8
            return torch.from_numpy(frame)[None]
        if self.kind == "torch-half":
            return (torch.from_numpy(frame).half() / 255).permute(2, 0, 1)
        if self.kind == "jax-uint8":  # Brax, MJX
            return jnp.asarray(frame)
        if self.kind == "jax-bfloat16":
            return (jnp.asarray(frame) / 255).astype(jnp.bfloat16)
        if self.kind == "float-0-255":
            return frame.astype(np.float32)
        raise AssertionError(self.kind)


@pytest.mark.parametrize(
    "kind",
    ["torch-chw-float", "torch-batch-of-one", "torch-half", "jax-uint8", "jax-bfloat16",
     "float-0-255"],
)  # fmt: skip
def test_record_video_of_tensor_renders(tmp_path, kind):
    env = TensorRender(gym.make("CartPole-v1", render_mode="rgb_array"), kind)
    options = {"float_range": (0, 255)} if kind == "float-0-255" else {}
    env = rlvideo.RecordVideo(
        env, str(tmp_path), episode_trigger=lambda e: e == 0, video_length=12, **options
    )
    obs, _ = env.reset(seed=0)
    for _ in range(15):
        obs, *_ = env.step(balancing_policy(obs))
    env.close()
    copies = env.env.copies
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (video.count, video.height, video.width) == (12, 400, 600)
    assert video.fps == FPS
    tolerance = 9 if "half" in kind or "bfloat16" in kind else 6
    for decoded, rendered in zip(video.frames, copies[:12], strict=True):
        assert rms(decoded, rendered) < tolerance


def rollout_frames(count: int) -> list[np.ndarray]:
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=1)
    frames = [env.render()]
    for _ in range(count - 1):
        obs, *_ = env.step(balancing_policy(obs))
        frames.append(env.render())
    return frames


def test_save_video_of_a_torch_tchw_tensor_as_wandb_takes_it(tmp_path):
    frames = rollout_frames(10)
    video_tensor = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)  # (T, C, H, W) uint8
    [path] = rlvideo.save_video(video_tensor, str(tmp_path), fps=FPS)
    video = decode(path)
    assert (video.count, video.height, video.width) == (10, 400, 600)
    assert all(rms(a, b) < 6 for a, b in zip(video.frames, frames, strict=True))


def test_save_video_of_a_jax_float_array(tmp_path):
    frames = rollout_frames(8)
    array = jnp.asarray(np.stack(frames)) / 255.0  # (T, H, W, 3) float32
    [path] = rlvideo.save_video(array, str(tmp_path), fps=FPS, format="webm")
    video = decode(path)
    assert (video.count, video.height, video.width) == (8, 400, 600)
    assert all(rms(a, b) < 6 for a, b in zip(video.frames, frames, strict=True))


def test_save_video_of_a_list_of_torch_frames_needing_detach(tmp_path):
    frames = [torch.zeros(3, 8, 8, requires_grad=True)]
    with pytest.raises(rlvideo.InvalidFrameError, match=r"frame.detach\(\)"):
        rlvideo.save_video(frames, str(tmp_path))
    assert not list(tmp_path.iterdir())
