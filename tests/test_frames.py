from __future__ import annotations

import numpy as np
import pytest

from rlvideo.errors import InvalidFrameError
from rlvideo.frames import FrameConverter


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
        (np.zeros((4, 6, 3), bool), (4, 6, 3), "rgb24"),
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
