from __future__ import annotations

import re

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvideo import RecordVideo, save_video
from rlvideo._core.frames import FrameConverter, is_frame, is_minigrid_symbolic
from rlvideo.errors import InvalidFrameError
from tests.helpers import decode, rms


def test_uint8_rgb_passes_zero_copy():
    frame = np.zeros((4, 6, 3), np.uint8)
    out = FrameConverter(pad_to_even=True)(frame)
    assert out is frame


def test_cropped_view_with_contiguous_rows_is_not_copied():
    base = np.zeros((10, 10, 3), np.uint8)
    view = base[2:6, 2:8]
    out = FrameConverter()(view)
    assert np.shares_memory(out, base)


@pytest.mark.parametrize(
    ("frame", "shape", "pixel_format"),
    [
        (np.zeros((4, 6), np.uint8), (4, 6), "gray"),
        (np.zeros((4, 6, 1), np.uint8), (4, 6), "gray"),
        (np.zeros((4, 6, 4), np.uint8), (4, 6, 4), "rgba"),
        (np.zeros((4, 6, 3), np.float32), (4, 6, 3), "rgb24"),
        (np.zeros((4, 6, 1), bool), (4, 6), "gray"),
        (np.zeros((4, 6, 3), np.int64), (4, 6, 3), "rgb24"),
    ],
)
def test_input_kinds(frame, shape, pixel_format):
    convert = FrameConverter()
    out = convert(frame)
    assert out.dtype == np.uint8
    assert out.shape == shape
    assert convert.layout.pixel_format == pixel_format


def test_float_scaled_and_rounded():
    out = FrameConverter()(np.array([[0.0, 0.5, 1.0, 0.2]], np.float64))
    assert out.tolist() == [[0, 128, 255, 51]]


def test_bool_becomes_0_and_255():
    out = FrameConverter()(np.array([[True, False]]))
    assert out.tolist() == [[255, 0]]


def test_odd_sizes_padded_with_edge_pixels():
    frame = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    out = FrameConverter(pad_to_even=True)(frame)
    assert out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out[:3, :5], frame)
    np.testing.assert_array_equal(out[:3, 5], frame[:, 4])
    np.testing.assert_array_equal(out[3], out[2])


def test_odd_sizes_kept_without_padding():
    assert FrameConverter()(np.zeros((3, 5, 3), np.uint8)).shape == (3, 5, 3)


def test_layout_reports_padded_size():
    convert = FrameConverter(pad_to_even=True)
    convert(np.zeros((401, 601, 3), np.uint8))
    assert (convert.layout.height, convert.layout.width) == (402, 602)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (np.full((4, 4, 3), np.nan), r"frame 0 \(float64\) holds 48 NaN or infinite values"),
        (np.full((4, 4, 3), np.inf, np.float32), r"NaN or infinite.*np.nan_to_num"),
        (np.full((4, 4, 3), 2.0), r"values in \[2, 2\]; float frames must lie in \[0, 1\]"),
        (np.full((4, 4, 3), -1, np.int16), r"values in \[-1, -1\]; integer frames must lie in"),
        (np.full((4, 4, 3), 300, np.uint16), r"frame >> 8"),
        (np.zeros((4, 4, 3), np.complex64), r"dtype complex64; expected uint8"),
        (np.zeros((2, 40, 60)), r"\(3, height, width\); frame.transpose\(1, 2, 0\)"),
        (np.zeros((4, 4, 2), np.uint8), r"shape \(4, 4, 2\)"),
        (np.zeros((2, 4, 4, 3), np.uint8), r"batch of 2 frames: pass it as the list of frames"),
        (np.zeros(5, np.uint8), r"shape \(5,\)"),
        (np.zeros((0, 4, 3), np.uint8), r"at least one pixel"),
        (np.array("text"), r"shape \(\)"),
    ],
)
def test_bad_frames_have_clear_errors(frame, match):
    with pytest.raises(InvalidFrameError, match=match):
        FrameConverter()(frame)


def test_shape_change_names_index_and_both_shapes():
    convert = FrameConverter()
    for _ in range(12):
        convert(np.zeros((400, 600, 3), np.uint8))
    with pytest.raises(
        InvalidFrameError, match=r"frame 12 has shape \(400, 600, 4\); frame 0 was \(400, 600, 3\)"
    ):
        convert(np.zeros((400, 600, 4), np.uint8))


def test_errors_are_value_errors():
    with pytest.raises(ValueError, match="dtype"):
        FrameConverter()(np.zeros((4, 4), object))


def test_unreadable_object_has_clear_error():
    class Weird:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("on the GPU")

    with pytest.raises(InvalidFrameError, match=r"type Weird cannot be read as an array \(on"):
        FrameConverter()(Weird())


def test_layout_before_first_frame_is_an_error():
    with pytest.raises(InvalidFrameError, match="no frame was given yet"):
        FrameConverter().layout  # noqa: B018


# -- arrays that look like images and are not (issue 19, items 13 and 14) ------------------------
RNG = np.random.default_rng(19)


@pytest.mark.parametrize(
    "stack",
    [
        RNG.integers(0, 256, (84, 84, 4), dtype=np.uint8),  # SB3's VecFrameStack, channels-last
        RNG.integers(0, 256, (1, 84, 84, 4), dtype=np.uint8),  # ... as a one-env batch
        RNG.random((84, 84, 4), dtype=np.float32),
    ],
    ids=["uint8", "leading-one", "float32"],
)
def test_channels_last_frame_stack_is_refused_with_the_fix(stack):
    with pytest.raises(
        InvalidFrameError,
        match=r"fourth channel is no constant alpha: it looks like a stack of 4 frames "
        r"\(SB3's VecFrameStack\).*frame\[\.\.\., -1\].*render_mode='rgb_array'"
        r".*frame\[\.\.\., :3\]",
    ):
        FrameConverter()(stack)


@pytest.mark.parametrize("alpha", [255, 0, 128])
def test_channels_last_rgba_with_a_constant_alpha_is_an_image(alpha):
    rgb = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((6, 8, 1), alpha, np.uint8)], axis=2)
    convert = FrameConverter()
    np.testing.assert_array_equal(convert(rgba)[..., :3], rgb)
    assert convert.layout.pixel_format == "rgba"


@pytest.mark.parametrize(
    ("frame", "fix"),
    [
        (RNG.random((10, 10, 4)) < 0.3, r"frame\[\.\.\., k\]"),  # MinAtar's state (Breakout)
        (np.zeros((4, 6, 3), bool), r"frame\[\.\.\., k\]"),
        (RNG.random((3, 10, 12)) < 0.5, r"frame\[k\]"),  # channels-first
    ],
    ids=["minatar", "rgb-bool", "channels-first"],
)
def test_bool_arrays_with_channels_are_refused_with_the_fix(frame, fix):
    with pytest.raises(
        InvalidFrameError,
        match=rf"shape {re.escape(str(frame.shape))} of bool: on/off layers.*MinAtar.*not an "
        rf"image.*render_mode='rgb_array'.*{fix}",
    ):
        FrameConverter()(frame)


def test_bool_gray_frames_stay_black_and_white():
    assert FrameConverter()(np.array([[True, False]] * 2)[..., None]).tolist() == [[255, 0]] * 2


def test_only_the_first_frame_decides_what_the_video_is():
    convert = FrameConverter()
    convert(np.zeros((4, 6, 4), np.uint8))  # RGBA, constant alpha: the video is RGBA
    convert(RNG.integers(0, 256, (4, 6, 4), dtype=np.uint8))  # a later alpha may vary
    assert convert.count == 2


def test_small_real_images_are_not_taken_for_minigrid_observations():
    dark = RNG.integers(0, 11, (7, 7, 3), dtype=np.uint8)  # a dark frame of MiniGrid's values
    for frame in (
        np.ones((3, 3, 3), np.uint8),  # what Hypothesis once drew: make test failed on it
        np.full((7, 7, 3), 1, np.uint8),
        np.full((7, 7, 3), (2, 2, 2), np.int64),
        np.zeros((7, 7, 3), np.uint8),
        dark,
    ):
        assert not is_minigrid_symbolic(frame)
        np.testing.assert_array_equal(FrameConverter()(frame), frame)


@settings(max_examples=200, deadline=None, database=None)
@given(
    side=st.integers(1, 8).map(lambda k: 2 * k + 1),
    levels=st.data(),
    dtype=st.sampled_from([np.uint8, np.int32]),
)
def test_gray_images_of_any_shade_are_accepted(side, levels, dtype):
    """A gray image (R = G = B in every pixel) is never MiniGrid's encoding, however dark."""
    gray = levels.draw(hnp.arrays(np.uint8, (side, side), elements=st.integers(0, 12)))
    frame = np.repeat(gray[:, :, None], 3, axis=2).astype(dtype)
    np.testing.assert_array_equal(FrameConverter()(frame), frame)


def minigrid_observations():
    """Every observation of a few MiniGrid envs over a few random steps: the real thing."""
    gym = pytest.importorskip("gymnasium")
    pytest.importorskip("minigrid")  # importing it registers its envs
    from minigrid.wrappers import ViewSizeWrapper

    observations = []
    for env_id, view in [
        ("MiniGrid-Empty-5x5-v0", None),
        ("MiniGrid-DoorKey-6x6-v0", None),
        ("MiniGrid-LavaGapS5-v0", 3),
        ("MiniGrid-KeyCorridorS3R1-v0", 9),
    ]:
        env = gym.make(env_id)
        if view is not None:
            env = ViewSizeWrapper(env, agent_view_size=view)
        obs, _ = env.reset(seed=0)
        observations.append(obs["image"])
        env.action_space.seed(0)
        for _ in range(6):
            obs, *_ = env.step(env.action_space.sample())
            observations.append(obs["image"])
        env.close()
    return observations


def test_real_minigrid_observations_are_refused_with_the_fix():
    observations = minigrid_observations()
    assert {obs.shape for obs in observations} == {(3, 3, 3), (7, 7, 3), (9, 9, 3)}
    for obs in observations:
        assert is_minigrid_symbolic(obs)
        with pytest.raises(
            InvalidFrameError,
            match=r"MiniGrid's symbolic observation.*render_mode='rgb_array'.*RGBImgObsWrapper",
        ):
            FrameConverter()(obs)


DOOR_STATES = [(True, False), (False, False), (False, True)]  # open, closed, locked


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.data(), side=st.integers(1, 5).map(lambda k: 2 * k + 1))
def test_any_grid_minigrid_encodes_is_refused(data, side):
    """Grids of every MiniGrid object (doors in each state, the agent), encoded by MiniGrid."""
    pytest.importorskip("minigrid")
    from minigrid.core.constants import COLOR_NAMES
    from minigrid.core.grid import Grid
    from minigrid.core.world_object import Ball, Box, Door, Floor, Goal, Key, Lava, Wall

    grid = Grid(side, side)
    colours = st.sampled_from(COLOR_NAMES)
    kinds = [Wall, Floor, Key, Ball, Box, Goal, Lava]
    for x in range(side):
        for y in range(side):
            choice = data.draw(st.integers(0, len(kinds) + 1))
            if choice < len(kinds):
                kind = kinds[choice]
                grid.set(x, y, kind() if kind in (Goal, Lava) else kind(data.draw(colours)))
            elif choice == len(kinds):
                is_open, is_locked = data.draw(st.sampled_from(DOOR_STATES))
                grid.set(x, y, Door(data.draw(colours), is_open=is_open, is_locked=is_locked))
    seen = data.draw(hnp.arrays(bool, (side, side)))
    seen[side // 2, side - 1] = True  # the agent always sees its own cell
    obs = grid.encode(seen)
    if data.draw(st.booleans()):  # FullyObsWrapper's agent cell: (10, red, direction)
        obs[side // 2, side - 1] = (10, 0, data.draw(st.integers(0, 3)))
    assert is_minigrid_symbolic(obs)
    with pytest.raises(InvalidFrameError, match=r"MiniGrid's symbolic observation"):
        FrameConverter()(obs)


# -- PIL renders, through save_video and every wrapper (issue 19, item 15) -----------------------
def pil_image(frame, mode):
    """``frame`` as a PIL image in ``mode``; RGBA with a varying alpha, P with 64 colours."""
    image = pytest.importorskip("PIL.Image").fromarray(frame)
    if mode == "P":
        return image.quantize(64)
    if mode == "RGBA":
        image.putalpha(image.convert("L"))  # a real transparency mask, not a constant
    return image.convert(mode)


def pil_env(mode, max_steps=6):
    """CartPole whose render() returns a PIL image, keeping the RGB each one shows."""
    gym = pytest.importorskip("gymnasium")

    class PILRender(gym.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.shown = []

        def render(self):
            image = pil_image(self.env.render(), mode)
            self.shown.append(np.asarray(image.convert("RGB")))
            return image

    return PILRender(gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=max_steps))


def assert_video_shows(path, shown):
    video = decode(path)
    assert video.count == len(shown)
    assert (video.height, video.width) == shown[0].shape[:2]
    for decoded, expected in zip(video.frames, shown, strict=True):
        assert rms(decoded, expected) < 6


def play(env, steps):
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(steps):
        env.step(env.action_space.sample())
    env.close()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L"])
def test_pil_images_are_frames_wherever_they_come_from(tmp_path, mode):
    shown = [np.full((40, 60, 3), 30 * i, np.uint8) for i in range(4)]
    images = [pil_image(frame, mode) for frame in shown]
    expected = [np.asarray(image.convert("RGB")) for image in images]
    assert is_frame(images[0])
    (path,) = save_video(images, tmp_path, lambda i: True, fps=10)
    assert_video_shows(path, expected)
    with pytest.raises(InvalidFrameError, match=r"frames is one image of shape \(40, 60"):
        save_video(images[0], tmp_path / "one", lambda i: True, fps=10)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_record_video_records_pil_renders(tmp_path, mode):
    env = pil_env(mode)
    play(RecordVideo(env, str(tmp_path), episode_trigger=lambda e: e == 0), 3)
    assert_video_shows(tmp_path / "rl-video-episode-0.mp4", env.shown)


def test_vector_record_video_records_pil_renders(tmp_path):
    gym = pytest.importorskip("gymnasium")
    from rlvideo.wrappers.vector import RecordVideo as VectorRecordVideo

    subs = [pil_env("P"), pil_env("RGB")]
    envs = gym.vector.SyncVectorEnv([lambda env=env: env for env in subs])
    play(VectorRecordVideo(envs, str(tmp_path), per_env=True, episode_trigger=lambda e: e == 0), 3)
    for k, env in enumerate(subs):
        assert_video_shows(tmp_path / f"rl-video-env-{k}-episode-0.mp4", env.shown)


def test_sb3_vec_video_recorder_records_pil_renders(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    shown = []

    class PILVecRender(VecEnvWrapper):  # a VecEnv whose render() is a PIL image
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            return self.venv.step_wait()

        def render(self, mode=None):
            image = pil_image(self.venv.render(), "P")
            shown.append(np.asarray(image.convert("RGB")))
            return image

    venv = PILVecRender(DummyVecEnv([lambda: pil_env("RGB").env]))
    recorder = VecVideoRecorder(venv, str(tmp_path), lambda s: s == 0, video_length=4)
    recorder.reset()
    for _ in range(6):
        recorder.step(np.zeros(1, np.int64))
    recorder.close()
    assert_video_shows(tmp_path / "rl-video-step-0-to-step-4.mp4", shown[:5])


def test_sb3_vec_frame_stack_observation_is_refused_and_its_newest_frame_recorded(tmp_path):
    pytest.importorskip("stable_baselines3")
    ale_py = pytest.importorskip("ale_py")
    gym = pytest.importorskip("gymnasium")
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)
    venv = VecFrameStack(make_atari_env("ALE/Pong-v5", n_envs=1, seed=0), n_stack=4)
    venv.reset()
    for _ in range(6):
        obs, *_ = venv.step(np.zeros(1, np.int64))
    venv.close()
    assert obs.shape == (1, 84, 84, 4)
    with pytest.raises(InvalidFrameError, match=r"stack of 4 frames \(SB3's VecFrameStack\)"):
        save_video([obs[0]], tmp_path, lambda i: True)
    assert not any(tmp_path.iterdir())
    (path,) = save_video([obs[0][..., -1]], tmp_path, lambda i: True)  # the advice works
    assert decode(path).count == 1
