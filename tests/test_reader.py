"""rlvideo.io.reader: the one home of decoding, on real videos written here and decoded back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rlvideo import VideoWriter
from rlvideo.errors import EncoderError
from rlvideo.io.reader import decoded, open_video, probe, probe_with_frame, rgb, video_packets
from tests.helpers import decode, solid

FORMATS = ["mp4", "webm", "gif"]


def _shades(path: Path, count: int, *, fps: int = 10) -> Path:
    """A video whose frame ``i`` is a solid grey of ``8 * i``: each frame tells its index."""
    with VideoWriter(path, fps=fps) as writer:
        writer.write_batch([solid(8 * i, 32, 32) for i in range(count)])
    return path


def _index(frame: av.VideoFrame) -> int:
    return round(float(rgb(frame).mean()) / 8)


@pytest.mark.parametrize("fmt", FORMATS)
def test_decoded_keeps_every_nth_frame_up_to_the_limit(tmp_path: Path, fmt: str) -> None:
    video = _shades(tmp_path / f"v.{fmt}", 20)
    with open_video(video) as stream:
        every_third = [(_index(f), round(f.time, 2)) for f in decoded(stream, every=3, limit=4)]
    assert every_third == [(0, 0.0), (3, 0.3), (6, 0.6), (9, 0.9)]
    with open_video(video, threaded=True) as stream:
        assert [_index(f) for f in decoded(stream)] == list(range(20))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("count", [1, 2, 9, 31])
def test_probe_with_frame_gives_the_frame_a_third_in(tmp_path: Path, fmt: str, count: int) -> None:
    video = _shades(tmp_path / f"v.{fmt}", count)
    info, frame = probe_with_frame(video)
    assert info == probe(video)
    assert info.frames == decode(video).count == count
    assert frame is not None
    assert _index(frame) == count // 3


def test_probe_with_frame_when_the_header_misleads(tmp_path: Path) -> None:
    """A header count far from the truth: the frame is found by decoding again."""
    video = _shades(tmp_path / "v.mp4", 24)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("rlvideo.io.reader._header_frames", lambda stream: 3)
        info, frame = probe_with_frame(video, at=Fraction(1, 2))
    assert info.frames == 24
    assert frame is not None
    assert _index(frame) == 12


def test_probe_with_frame_without_a_frame(tmp_path: Path) -> None:
    video = _shades(tmp_path / "v.webm", 5)
    assert probe_with_frame(video, at=None) == (probe(video), None)


def test_video_packets_count_without_decoding_and_stop_at_a_damaged_tail(tmp_path: Path) -> None:
    video = _shades(tmp_path / "v.gif", 12)
    with open_video(video) as stream:
        assert sum(1 for _ in video_packets(stream)) == 12
    data = video.read_bytes()
    torn = tmp_path / "torn.gif"
    torn.write_bytes(data[: len(data) * 2 // 3])
    with open_video(torn) as stream:
        kept = list(video_packets(stream, tolerant=True))
    assert 0 < len(kept) < 12


def test_open_video_names_a_file_without_video(tmp_path: Path) -> None:
    text = tmp_path / "text.mp4"
    text.write_text("not a video")
    with pytest.raises(EncoderError, match=r"text\.mp4 is not a video file"):
        probe(text)
    with pytest.raises(av.error.InvalidDataError), open_video(text):
        pass


def test_read_frames_round_trip(tmp_path: Path) -> None:
    from rlvideo import read_frames

    frames = list(read_frames(_shades(tmp_path / "v.mp4", 4)))
    assert [f.shape for f in frames] == [(32, 32, 3)] * 4
    assert [round(float(f.mean()) / 8) for f in frames] == [0, 1, 2, 3]
    assert all(isinstance(f, np.ndarray) and f.dtype == np.uint8 for f in frames)
