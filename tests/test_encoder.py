"""VideoWriter round trips: write, decode with PyAV, check count, size, fps, timing and pixels."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from rlvideo import VideoWriter
from rlvideo.errors import (
    EncoderError,
    InvalidArgumentError,
    InvalidFrameError,
    StorageError,
    VideoExistsError,
    WriterClosedError,
)
from tests.helpers import decode, folder_names, gradient_frames, rms, solid

# lossy codecs: how far decoded frames may drift from the source (RMS over all pixels)
TOLERANCE = {"mp4": 6.0, "webm": 9.0, "gif": 8.0}  # GIF: 256 colours, dithered


@pytest.mark.parametrize("video_format", ["mp4", "webm", "gif"])
@pytest.mark.parametrize("fps", [1, 4, 24, 29.97, 30, 60, 144])
@pytest.mark.parametrize("length", [1, 2, 3, 101])
def test_exact_frame_count_for_every_format_fps_and_length(tmp_path, video_format, fps, length):
    path = tmp_path / f"v.{video_format}"
    frames = [solid(2 * i % 256, 24, 32) for i in range(length)]
    with VideoWriter(path, fps=fps) as writer:
        writer.write_batch(frames)
    video = decode(path)
    assert video.count == length
    assert (video.width, video.height) == (32, 24)
    if video_format != "gif" and length > 1:  # GIF delays are whole centiseconds
        assert video.fps == pytest.approx(fps, rel=1e-3)
    assert folder_names(tmp_path) == {path.name}


@pytest.mark.parametrize("video_format", ["mp4", "webm", "gif"])
def test_pixels_survive_round_trip(tmp_path, video_format):
    frames = gradient_frames(30)
    path = tmp_path / f"v.{video_format}"
    with VideoWriter(path, fps=30) as writer:
        for frame in frames:
            writer.write(frame)
    video = decode(path)
    assert video.count == 30
    for original, decoded in zip(frames, video.frames, strict=True):
        assert rms(original, decoded) < TOLERANCE[video_format]


def test_mp4_is_h264_yuv420p_with_moov_first(tmp_path):
    path = tmp_path / "v.mp4"
    with VideoWriter(path) as writer:
        writer.write_batch(gradient_frames(10))
    video = decode(path)
    assert (video.codec, video.pix_fmt) == ("h264", "yuv420p")
    head = path.read_bytes()[:4096]
    assert head.find(b"moov") != -1, "faststart: the index must come before the media data"
    assert head.find(b"moov") < max(head.find(b"mdat"), 4096)
    assert b"moof" not in path.read_bytes(), "the final file is a normal, not fragmented, MP4"


def test_webm_is_vp9_and_gif_is_gif(tmp_path):
    for suffix, codec in (("webm", "vp9"), ("gif", "gif")):
        with VideoWriter(tmp_path / f"v.{suffix}") as writer:
            writer.write_batch(gradient_frames(3))
        assert decode(tmp_path / f"v.{suffix}").codec == codec


@pytest.mark.parametrize(
    "make",
    [
        lambda i: np.full((20, 30), 10 * i, np.uint8),  # gray
        lambda i: np.full((20, 30, 1), 10 * i, np.uint8),  # gray, channel axis
        lambda i: np.dstack([np.full((20, 30, 3), 10 * i, np.uint8), np.zeros((20, 30), np.uint8)]),
        lambda i: np.full((20, 30, 3), 10 * i / 255.0, np.float32),
        lambda i: np.full((20, 30, 3), 10 * i, np.int32),
    ],
    ids=["gray", "gray1", "rgba-alpha-dropped", "float", "int32"],
)
@pytest.mark.parametrize("video_format", ["mp4", "gif"])
def test_input_kinds_round_trip(tmp_path, make, video_format):
    path = tmp_path / f"v.{video_format}"
    with VideoWriter(path) as writer:
        for i in range(12):
            writer.write(make(i))
    video = decode(path)
    assert video.count == 12
    for i, frame in enumerate(video.frames):
        assert abs(float(frame.mean()) - 10 * i) < 3


def test_bool_frames(tmp_path):
    mask = np.zeros((16, 16), bool)
    mask[:, 8:] = True
    with VideoWriter(tmp_path / "v.mp4") as writer:
        writer.write_batch([mask, mask])
    frame = decode(tmp_path / "v.mp4").frames[0]
    assert frame[:, :6].mean() < 10
    assert frame[:, 10:].mean() > 245


def test_batch_array_input(tmp_path):
    batch = np.stack(gradient_frames(7))
    with VideoWriter(tmp_path / "v.mp4") as writer:
        writer.write_batch(batch)
    assert decode(tmp_path / "v.mp4").count == 7


@pytest.mark.parametrize("video_format", ["mp4", "webm"])
def test_odd_size_padded_to_even_every_pixel_kept(tmp_path, video_format):
    frame = np.zeros((41, 63, 3), np.uint8)
    frame[:, -1] = 255  # the last column must survive
    frame[-1, :] = 255  # and the last row
    path = tmp_path / f"v.{video_format}"
    with VideoWriter(path) as writer:
        writer.write_batch([frame] * 3)
    video = decode(path)
    assert (video.width, video.height, video.pix_fmt) == (64, 42, "yuv420p")
    assert video.frames[0][:41, 62].mean() > 200
    assert video.frames[0][40, :63].mean() > 200
    assert video.frames[0][:40, :61].mean() < 20


def test_gif_keeps_odd_size(tmp_path):
    with VideoWriter(tmp_path / "v.gif") as writer:
        writer.write_batch([solid(100, 41, 63)] * 2)
    video = decode(tmp_path / "v.gif")
    assert (video.width, video.height) == (63, 41)


def test_gif_palette_per_frame(tmp_path):
    """Every frame gets its own palette: a red frame after a gray one stays red."""
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    with VideoWriter(tmp_path / "v.gif") as writer:
        writer.write_batch([solid(128, 32, 32), red, solid(30, 32, 32)])
    frames = decode(tmp_path / "v.gif").frames
    assert rms(frames[1], red) < 2
    assert rms(frames[0], solid(128, 32, 32)) < 2


@pytest.mark.parametrize(
    ("video_format", "precision"), [("mp4", 1e-3), ("webm", 1e-3), ("gif", 0.011)]
)
def test_per_frame_durations_are_honoured(tmp_path, video_format, precision):
    durations = [0.1, 0.5, 0.04, 1.0, 0.2, 0.3]
    path = tmp_path / f"v.{video_format}"
    with VideoWriter(path) as writer:
        for i, duration in enumerate(durations):
            writer.write(gradient_frames(6)[i], duration=duration)
    video = decode(path)
    assert video.count == len(durations)
    starts = np.cumsum([0.0, *durations[:-1]])
    assert np.allclose(video.times, starts, atol=precision)  # the first frame shows at 0
    assert writer.duration == pytest.approx(sum(durations))


def test_gif_fps_above_50_warns_and_keeps_every_frame(tmp_path, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="rlvideo"),
        VideoWriter(tmp_path / "v.gif", fps=144) as w,
    ):
        w.write_batch([solid(i, 8, 8) for i in range(10)])
    assert "GIF plays at most 50 fps" in caplog.text
    assert decode(tmp_path / "v.gif").count == 10


def test_parent_folders_created(tmp_path):
    path = tmp_path / "a" / "b" / "v.mp4"
    with VideoWriter(path) as writer:
        writer.write(solid(0))
    assert decode(path).count == 1


def test_format_argument_overrides_suffix(tmp_path):
    with VideoWriter(tmp_path / "clip.video", format="webm") as writer:
        writer.write(solid(0))
    assert decode(tmp_path / "clip.video").codec == "vp9"


def test_custom_codec_and_crf(tmp_path):
    with (
        VideoWriter(tmp_path / "hq.mp4", crf=10) as hq,
        VideoWriter(tmp_path / "lq.mp4", crf=45) as lq,
    ):
        for frame in gradient_frames(20, 96, 128):
            hq.write(frame)
            lq.write(frame)
    assert os.path.getsize(tmp_path / "hq.mp4") > os.path.getsize(tmp_path / "lq.mp4")
    with VideoWriter(tmp_path / "h265.mp4", codec="libx265") as writer:
        writer.write_batch(gradient_frames(3))
    assert decode(tmp_path / "h265.mp4").codec == "hevc"


def test_memory_stays_flat_over_many_frames(tmp_path):
    """Frames are encoded as they come: the writer's memory does not grow with the video."""
    psutil = pytest.importorskip("psutil")
    process = psutil.Process()
    frame = gradient_frames(1, 400, 600)[0]
    with VideoWriter(tmp_path / "long.mp4") as writer:
        for _ in range(150):  # warm up: encoder lookahead and thread buffers fill
            writer.write(frame)
        settled = process.memory_info().rss
        for _ in range(1500):  # 1500 frames of 720 kB would be ~1 GB if held
            writer.write(frame)
        grown = process.memory_info().rss - settled
    assert grown < 60 * 2**20, f"RSS grew by {grown / 2**20:.0f} MB over 1500 frames"
    assert decode(tmp_path / "long.mp4").count == 1650


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fps": 0}, InvalidArgumentError, r"fps must be a finite number above 0"),
        ({"fps": -5}, InvalidArgumentError, r"got -5"),
        ({"fps": float("nan")}, InvalidArgumentError, r"got nan"),
        ({"fps": "fast"}, InvalidArgumentError, r"got 'fast'"),
        ({"fps": 10**6}, InvalidArgumentError, r"at most 1000"),
        ({"format": "avi"}, InvalidArgumentError, r"format 'avi' is not supported"),
        ({"codec": "gif"}, InvalidArgumentError, r"codec .gif. \(gif\) cannot go in a .mp4 file"),
        ({"codec": "nonesuch"}, EncoderError, r"no encoder named 'nonesuch'"),
        (
            {"crf": 60},
            InvalidArgumentError,
            r"crf=60 is out of range for libx264: use 0 \(best\) to 51",
        ),
        ({"crf": 1.5}, InvalidArgumentError, r"crf=1.5 is out of range"),
    ],
)
def test_bad_arguments_fail_at_construction(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        VideoWriter(tmp_path / "v.mp4", **kwargs)
    assert folder_names(tmp_path) == set()


def test_crf_on_gif_is_an_error(tmp_path):
    with pytest.raises(InvalidArgumentError, match="crf does not apply to gif"):
        VideoWriter(tmp_path / "v.gif", crf=20)


def test_unknown_suffix_needs_format(tmp_path):
    with pytest.raises(
        InvalidArgumentError, match=r"end it in \.mp4, \.webm or \.gif, or pass format="
    ):
        VideoWriter(tmp_path / "v.mkv")


def test_existing_file_never_overwritten_with_overwrite_false(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"precious")
    with pytest.raises(VideoExistsError, match=r"v.mp4 already exists. Pass overwrite=True"):
        VideoWriter(path, overwrite=False)
    assert path.read_bytes() == b"precious"
    with pytest.raises(FileExistsError):
        VideoWriter(path, overwrite=False)


def test_name_taken_while_recording_keeps_both(tmp_path):
    path = tmp_path / "v.mp4"
    writer = VideoWriter(path)
    writer.write_batch(gradient_frames(5))
    path.write_bytes(b"another process got here first")
    with pytest.raises(VideoExistsError, match=r"kept as .*v.incomplete.mp4"):
        writer.close()
    assert path.read_bytes() == b"another process got here first"
    assert decode(tmp_path / "v.incomplete.mp4").count == 5


def test_overwrite_true_replaces(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"old")
    with VideoWriter(path, overwrite=True) as writer:
        writer.write_batch(gradient_frames(4))
    assert decode(path).count == 4


def test_folder_as_path_is_an_error(tmp_path):
    (tmp_path / "d.mp4").mkdir()
    with pytest.raises(StorageError, match="is a folder"):
        VideoWriter(tmp_path / "d.mp4")


def test_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    writer = VideoWriter(tmp_path / "file" / "v.mp4")
    with pytest.raises(StorageError, match="cannot create the folder"):
        writer.write(solid(0))
    assert (tmp_path / "file").read_text() == "a file where a folder should be"


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path):
    writer = VideoWriter(tmp_path / "v.mp4")
    with pytest.raises(InvalidFrameError, match="no frames were written"):
        writer.close()
    assert folder_names(tmp_path) == set()


def test_bad_frame_mid_video_keeps_earlier_frames_as_incomplete(tmp_path):
    def record():
        with VideoWriter(tmp_path / "v.mp4") as writer:
            writer.write_batch([solid(0)] * 3)
            writer.write(solid(0, 10, 10))

    with pytest.raises(InvalidFrameError, match=r"frame 3 has shape"):
        record()
    assert folder_names(tmp_path) == {"v.incomplete.mp4"}
    assert decode(tmp_path / "v.incomplete.mp4").count == 3


def test_write_after_close(tmp_path):
    with VideoWriter(tmp_path / "v.mp4") as writer:
        writer.write(solid(0))
    with pytest.raises(WriterClosedError, match="closed writer"):
        writer.write(solid(0))
    assert writer.close() == tmp_path / "v.mp4"  # closing twice is harmless


@pytest.mark.parametrize("duration", [0, -1, float("nan"), float("inf")])
def test_bad_duration(tmp_path, duration):
    writer = VideoWriter(tmp_path / "v.mp4")
    with pytest.raises(InvalidArgumentError, match="duration must be a positive number of seconds"):
        writer.write(solid(0), duration=duration)


def test_huge_frame_is_an_encoder_error_not_a_crash(tmp_path):
    with (
        pytest.raises(EncoderError, match=r"libx264 refused 20000x2"),
        VideoWriter(tmp_path / "v.mp4") as w,
    ):
        w.write(np.zeros((2, 20000, 3), np.uint8))
    assert folder_names(tmp_path) == set()


def test_logs_each_video(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="rlvideo"), VideoWriter(tmp_path / "v.mp4") as writer:
        writer.write_batch([solid(0)] * 3)
    assert "wrote" in caplog.text
    assert "(3 frames" in caplog.text


def test_repr(tmp_path):
    writer = VideoWriter(tmp_path / "v.mp4", fps=25)
    assert "libx264 @ 25 fps, 0 frames" in repr(writer)


@pytest.mark.parametrize("video_format", ["mp4", "webm"])
def test_colour_conversion_is_tagged_bt601_limited_range(tmp_path, video_format):
    """Players must not guess BT.709 for large frames: the file says how RGB became YUV."""
    import av

    path = tmp_path / f"v.{video_format}"
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[..., 0] = 200  # a saturated red shows a wrong matrix clearly
    with VideoWriter(path) as writer:
        writer.write_batch([frame] * 3)
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_range) == (5, 1)  # BT.470BG/601, limited
        assert (context.color_primaries, context.color_trc) == (6, 6)  # SMPTE 170M
    assert rms(decode(path).frames[0], frame) < 6


# -- issue 9, defect 1: bottom-up frames (MuJoCo's renderer, dm_control's physics.render()) -----
def _bottom_up(frame: np.ndarray) -> np.ndarray:
    """What Gymnasium's MuJoCo renderer returns: a view with a negative row stride."""
    view = np.ascontiguousarray(frame[::-1])[::-1]
    assert view.strides[0] < 0
    return view


@pytest.mark.parametrize("video_format", ["mp4", "webm", "gif"])
def test_bottom_up_views_encode(tmp_path, video_format):
    frames = gradient_frames(6, 48, 64)
    path = tmp_path / f"v.{video_format}"
    with VideoWriter(path) as writer:
        writer.write_batch([_bottom_up(f) for f in frames])
    decoded = decode(path)
    assert decoded.count == 6
    assert (decoded.width, decoded.height) == (64, 48)
    for got, want in zip(decoded.frames, frames, strict=True):
        assert rms(got, want) < TOLERANCE[video_format]


@pytest.mark.parametrize(
    "make_view",
    [
        lambda a: a[:, ::-1],  # mirrored columns: a negative column stride
        lambda a: a[:, :, ::-1],  # BGR -> RGB as a view: a negative channel stride
        lambda a: a[::2, ::2],  # every other row and column
        lambda a: np.asfortranarray(a),  # column-major
        lambda a: a.transpose(1, 0, 2).copy().transpose(1, 0, 2),  # rows not outermost
    ],
)
def test_any_strided_view_encodes_with_the_right_pixels(tmp_path, make_view):
    base = gradient_frames(3, 96, 128)
    views = [make_view(b) for b in base]
    with VideoWriter(tmp_path / "v.mp4") as writer:
        writer.write_batch(views)
    decoded = decode(tmp_path / "v.mp4")
    assert decoded.count == 3
    for got, want in zip(decoded.frames, views, strict=True):
        assert rms(got, np.ascontiguousarray(want)) < TOLERANCE["mp4"]


@pytest.mark.parametrize("video_format", ["mp4", "webm"])
def test_encoder_failing_on_frame_0_leaves_no_file(tmp_path, video_format, monkeypatch):
    """An encoder that fails before it produced a packet leaves nothing, not a 0-byte file."""
    import rlvideo.io.writer as encoder_module

    mux = encoder_module._Output._mux

    def refuse(self, frame):  # as libx264 and libvpx refused MuJoCo's frames: EINVAL, then flush
        if frame is not None:
            raise encoder_module.av.error.ArgumentError(22, "Invalid argument")
        mux(self, frame)

    monkeypatch.setattr(encoder_module._Output, "_mux", refuse)
    with (
        pytest.raises(EncoderError, match="failed near frame 0"),
        VideoWriter(tmp_path / f"v.{video_format}") as writer,
    ):
        writer.write(solid(10))
    assert folder_names(tmp_path) == set()


def test_kept_as_says_where_a_failed_close_kept_the_frames(tmp_path, monkeypatch):
    """close() raises when the disk fills up while finishing; ``kept_as`` says where the frames
    went, for callers (the step clips) that must tell the user."""
    import errno

    import rlvideo.io.writer as encoder_module

    def no_room(source, target, **kwargs):
        raise StorageError.from_os_error(OSError(errno.ENOSPC, "No space left on device"), target)

    monkeypatch.setattr(encoder_module, "remux", no_room)
    writer = VideoWriter(tmp_path / "v.mp4", fps=30)
    writer.write_batch(gradient_frames(40))
    assert writer.kept_as is None
    with pytest.raises(StorageError, match="no space left"):
        writer.close()
    assert writer.kept_as == tmp_path / "v.incomplete.mp4"
    assert decode(writer.kept_as).count == 40
    assert folder_names(tmp_path) == {"v.incomplete.mp4"}


@pytest.mark.parametrize("video_format", ["mp4", "gif"])
def test_frames_sent_to_the_encoder_thread_or_inline_keep_their_order(tmp_path, video_format):
    """The encoder process's drain hands some frames to a second thread (``pipelined``) and
    encodes others inline: the file is the one an all-inline writer makes, byte for byte."""
    from rlvideo._core.frames import FrameConverter

    frames = [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(30)]
    flags = [bool(i % 3 == 0 or 10 <= i < 20) for i in range(30)]  # runs of each, and flips

    def written(name: str, pipelined: list[bool]) -> bytes:
        path = tmp_path / f"{name}.{video_format}"
        convert = FrameConverter()
        with VideoWriter(path, fps=30, threads=1) as writer:
            for image, flag in zip(frames, pipelined, strict=True):
                writer.write_converted(convert(image), pipelined=flag)
        return path.read_bytes()

    inline = written("inline", [False] * 30)
    assert written("mixed", flags) == inline
    assert written("threaded", [True] * 30) == inline
    decoded = decode(tmp_path / f"mixed.{video_format}")
    assert decoded.count == 30
    means = [float(f.mean()) for f in decoded.frames]
    assert means == sorted(means)  # the shades rise frame by frame: the order held
