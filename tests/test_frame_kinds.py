"""Frames from every framework and layout: torch, JAX, dlpack, channels-first, half floats."""

from __future__ import annotations

import numpy as np
import pytest

from rlvideo._core.frames import FrameConverter, _check_values, frame_sequence
from rlvideo._core.interop import torch_device_to_uint8
from rlvideo.errors import InvalidArgumentError, InvalidFrameError

torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
UNIT = RNG.random((6, 8, 3), dtype=np.float32)


def expected_from_unit(values):
    return np.rint(np.asarray(values, np.float64) * 255).astype(np.uint8)


# -- layouts ---------------------------------------------------------------------------------
def test_channels_first_rgb_gray_and_rgba_are_read_as_images():
    chw = np.ascontiguousarray(RGB.transpose(2, 0, 1))
    convert = FrameConverter()
    np.testing.assert_array_equal(convert(chw), RGB)
    assert convert.layout.channels_first
    assert convert.layout.pixel_format == "rgb24"
    gray = FrameConverter()
    assert gray(RGB[None, :, :, 0]).shape == (6, 8)
    rgba = np.concatenate([chw, np.full((1, 6, 8), 255, np.uint8)])
    np.testing.assert_array_equal(FrameConverter()(rgba)[..., :3], RGB)


def test_channels_last_wins_where_both_fit():
    frame = np.zeros((3, 4, 4), np.uint8)  # 3x4 RGBA, or 4x4 RGB channels-first
    convert = FrameConverter()
    assert convert(frame).shape == (3, 4, 4)
    assert not convert.layout.channels_first


def test_leading_axis_of_one_is_dropped():
    np.testing.assert_array_equal(FrameConverter()(RGB[None]), RGB)
    chw = RGB.transpose(2, 0, 1)[None]
    np.testing.assert_array_equal(FrameConverter()(chw), RGB)


def test_channels_first_costs_one_copy_and_rows_come_out_packed():
    chw = np.ascontiguousarray(RGB.transpose(2, 0, 1))
    out = FrameConverter()(chw)
    assert out.flags.c_contiguous
    assert not np.shares_memory(out, chw)
    # a (C, H, W) view of (H, W, C) memory is packed (H, W, C) again: read in place
    assert np.shares_memory(FrameConverter()(RGB.transpose(2, 0, 1)), RGB)


def test_atari_frame_stack_is_refused_with_the_fix():
    stack = RNG.integers(0, 256, (4, 84, 84), dtype=np.uint8)
    with pytest.raises(InvalidFrameError, match=r"stack of 4 frames.*obs\[-1\]"):
        FrameConverter()(stack)


def test_sequences_of_channels_first_frames_as_wandb_takes_them():
    video = np.stack([RGB.transpose(2, 0, 1)] * 5)  # (T, C, H, W)
    frames = frame_sequence(video)
    assert len(frames) == 5
    assert len(frame_sequence(video[None])) == 5  # (1, T, C, H, W)
    with pytest.raises(InvalidFrameError, match=r"batch of videos"):
        frame_sequence(np.stack([video, video]))


# -- float kinds -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floats_scale_the_same_in_every_precision(dtype):
    frame = UNIT.astype(dtype)
    np.testing.assert_array_equal(FrameConverter()(frame), expected_from_unit(frame))


def test_every_float16_value_converts_like_float32():
    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    valid = every[np.isfinite(every) & (every >= 0) & (every <= 1)]
    frame = valid[: valid.size // 3 * 3].reshape(-1, 1, 3)
    np.testing.assert_array_equal(FrameConverter()(frame), expected_from_unit(frame))


def test_float16_out_of_range_and_nan_are_refused():
    frame = UNIT.astype(np.float16)
    frame[0, 0, 0] = 1.5
    with pytest.raises(InvalidFrameError, match=r"\(float16\) has values in \[.*, 1.5\]"):
        FrameConverter()(frame)
    frame[0, 0, 0] = np.nan
    with pytest.raises(InvalidFrameError, match=r"\(float16\) holds 1 NaN"):
        FrameConverter()(frame)
    frame[0, 0, 0] = -0.0  # negative zero is black
    assert FrameConverter()(frame)[0, 0, 0] == 0


def test_float_range_reads_0_255_floats_and_the_error_names_it():
    frame = RGB.astype(np.float32)
    with pytest.raises(InvalidFrameError, match=r"float_range=\(0, 255\)"):
        FrameConverter()(frame)
    np.testing.assert_array_equal(FrameConverter(float_range=(0, 255))(frame), RGB)
    np.testing.assert_array_equal(
        FrameConverter(float_range=(0, 255))(frame.astype(np.float16)), RGB
    )
    signed = FrameConverter(float_range=(-1, 1))(np.array([[-1.0, 0.0, 1.0]], np.float32))
    assert signed.tolist() == [[0, 128, 255]]


@pytest.mark.parametrize("bad", [(1, 0), (0, float("inf")), "0-255", (0,), None])
def test_bad_float_range_is_refused(bad):
    with pytest.raises(InvalidArgumentError, match="float_range must be two finite numbers"):
        FrameConverter(float_range=bad)


# -- torch -----------------------------------------------------------------------------------
def test_torch_uint8_hwc_is_zero_copy():
    tensor = torch.from_numpy(RGB.copy())
    out = FrameConverter()(tensor)
    assert np.shares_memory(out, tensor.numpy())
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_torch_float_channels_first(dtype):
    tensor = torch.from_numpy(UNIT.transpose(2, 0, 1).copy()).to(getattr(torch, dtype))
    expected = expected_from_unit(tensor.float().numpy().transpose(1, 2, 0))
    np.testing.assert_array_equal(FrameConverter()(tensor), expected)


def test_torch_requires_grad_names_detach():
    tensor = torch.zeros(6, 8, 3, requires_grad=True)
    with pytest.raises(InvalidFrameError, match=r"requires grad. Record frame.detach\(\)"):
        FrameConverter()(tensor)


def test_torch_odd_channel_count_suggests_permute():
    with pytest.raises(InvalidFrameError, match=r"frame.permute\(1, 2, 0\)"):
        FrameConverter()(torch.zeros(2, 10, 12))


class FakeDevice:
    type = "cuda"


class FakeCudaTensor(torch.Tensor):
    """A CPU tensor that says it lives on a GPU, counting its copies to the host."""

    copies_to_host = 0

    @property
    def device(self):
        return FakeDevice()

    def cpu(self, *args, **kwargs):
        FakeCudaTensor.copies_to_host += 1
        return torch.Tensor.cpu(self.as_subclass(torch.Tensor))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: torch.from_numpy(RGB.copy()), RGB),
        (lambda: torch.from_numpy(RGB.transpose(2, 0, 1).copy()), RGB),
        (lambda: torch.from_numpy(UNIT.transpose(2, 0, 1).copy()), expected_from_unit(UNIT)),
        (lambda: torch.from_numpy(UNIT.copy()).half(), expected_from_unit(UNIT.astype(np.float16))),
        (lambda: torch.from_numpy(RGB[..., 0] > 127), (RGB[..., 0] > 127).astype(np.uint8) * 255),
    ],
)
def test_device_tensors_convert_on_the_device_and_copy_once(make, expected):
    tensor = make().as_subclass(FakeCudaTensor)
    FakeCudaTensor.copies_to_host = 0
    out = FrameConverter(pad_to_even=True)(tensor)
    assert FakeCudaTensor.copies_to_host == 1
    assert out.dtype == np.uint8
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, expected)


def minigrid_obs():
    obs = np.zeros((7, 7, 3), np.uint8)
    obs[..., 0] = 1  # empty cells
    obs[0] = (2, 5, 0)  # a grey wall
    obs[3, 2] = (4, 4, 2)  # a locked yellow door
    return obs


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: RNG.integers(0, 256, (84, 84, 4), dtype=np.uint8), r"stack of 4 frames"),
        (lambda: RNG.integers(0, 256, (4, 84, 84), dtype=np.uint8), r"stack of 4 frames"),
        (lambda: RNG.random((10, 10, 4)) < 0.5, r"of bool: on/off layers"),
        (minigrid_obs, r"MiniGrid's symbolic observation"),
        (lambda: minigrid_obs().astype(np.int64), r"MiniGrid's symbolic observation"),
    ],
    ids=["stack-last", "stack-first", "bool", "minigrid", "minigrid-int64"],
)
@pytest.mark.parametrize("where", ["numpy", "torch-cpu", "torch-device", "jax"])
def test_non_images_are_refused_wherever_the_data_lives(make, match, where):
    array = make()
    frame = {
        "numpy": lambda: array,
        "torch-cpu": lambda: torch.from_numpy(array),
        "torch-device": lambda: torch.from_numpy(array).as_subclass(FakeCudaTensor),
        "jax": lambda: jnp.asarray(array),
    }[where]()
    with pytest.raises(InvalidFrameError, match=match):
        FrameConverter()(frame)


def test_device_path_checks_values_like_the_host_path():
    def check(low, high, dtype, index, is_float):
        _check_values(low, high, dtype, index, is_float, (0.0, 1.0))

    for bad, match in ((2.0, r"\(float32\) has values in \[.*, 2\]"), (np.nan, r"NaN")):
        frame = torch.from_numpy(UNIT.copy())
        frame[0, 0, 0] = bad
        with pytest.raises(InvalidFrameError, match=match):
            torch_device_to_uint8(
                frame, channels_first=False, float_range=(0.0, 1.0), index=0, check_values=check
            )


# -- JAX and dlpack --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["uint8", "float32", "bfloat16", "float16"])
def test_jax_arrays(dtype):
    if dtype == "uint8":
        array, expected = jnp.asarray(RGB), RGB
    else:
        array = jnp.asarray(UNIT).astype(dtype)
        expected = expected_from_unit(np.asarray(array.astype("float32")))
    np.testing.assert_array_equal(FrameConverter()(array), expected)


def test_jax_channels_first_batch_through_frame_sequence():
    video = jnp.asarray(np.stack([RGB.transpose(2, 0, 1)] * 3))
    convert = FrameConverter()
    outs = [convert(frame) for frame in frame_sequence(video)]
    assert len(outs) == 3
    np.testing.assert_array_equal(outs[2], RGB)


def test_dlpack_only_objects_are_read_in_place():
    class OnlyDlpack:
        def __init__(self, array):
            self._array = array

        def __dlpack__(self, **kwargs):
            return self._array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self._array.__dlpack_device__()

    out = FrameConverter()(OnlyDlpack(RGB))
    assert np.shares_memory(out, RGB)
