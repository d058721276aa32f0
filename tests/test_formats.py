"""The formats table: each record says what the writer really produces."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

import rlvideo
from rlvideo._core import naming
from rlvideo._core.formats import (
    FORMATS,
    NAMES,
    check_format,
    format_from_path,
    format_of_suffix,
)
from rlvideo.errors import InvalidArgumentError
from tests.helpers import gradient_frames


@pytest.mark.parametrize("name", NAMES)
def test_each_record_says_what_the_writer_produces(tmp_path, name):
    record = FORMATS[name]
    path = tmp_path / f"clip{record.suffix}"
    with rlvideo.VideoWriter(path, fps=10) as writer:  # the suffix picks the format
        for frame in gradient_frames(3):
            writer.write(frame)
    assert writer.format == name
    assert writer.settings.codec == record.codec
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == record.codec_name
        assert record.name in container.format.name.split(",")
        assert record.codec_name in record.holds
        frames = list(container.decode(stream))
        if record.paletted:  # the decoder hands out bgra: count colours (the source has 3072)
            colours = frames[0].to_ndarray(format="rgb24").reshape(-1, 3)
            assert len(np.unique(colours, axis=0)) <= 256
        else:
            assert stream.codec_context.pix_fmt == record.pixel_format
        if record.tick_rate is not None:
            assert stream.time_base == Fraction(1, record.tick_rate)
    assert len(frames) == 3


@pytest.mark.parametrize("name", NAMES)
def test_odd_sizes_are_padded_where_the_record_says(tmp_path, name):
    record = FORMATS[name]
    path = tmp_path / f"odd{record.suffix}"
    with rlvideo.VideoWriter(path, fps=10) as writer:
        writer.write(np.zeros((33, 47, 3), np.uint8))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        size = (stream.codec_context.height, stream.codec_context.width)
    assert size == ((34, 48) if record.even_size else (33, 47))


def test_the_records_agree_with_their_keys_and_the_names_module():
    assert tuple(FORMATS) == NAMES == naming.FORMATS == ("mp4", "webm", "gif")
    for name, record in FORMATS.items():
        assert record.name == name
        assert record.suffix == f".{name}"
        assert format_of_suffix(record.suffix.upper()) is record
        assert format_from_path(f"run{record.suffix}") == name
        assert naming.MIME_TYPES[name] == record.mime_type
        assert record.suffix in naming.VIDEO_SUFFIXES
        assert record.muxer_options.get("flush_packets") == "1"  # a kill loses ~1 s at most
    assert [n for n in NAMES if FORMATS[n].cuttable] == ["mp4", "webm"]
    assert [n for n in NAMES if FORMATS[n].remux_on_close] == ["mp4"]


def test_the_tick_rate_divides_every_frame():
    assert FORMATS["mp4"].ticks_per_second(Fraction(30000, 1001)) % 30000 == 0
    assert FORMATS["webm"].ticks_per_second(Fraction(7)) >= 90_000
    assert FORMATS["gif"].ticks_per_second(Fraction(30)) == 100
    assert FORMATS["gif"].max_fps == 50


@pytest.mark.parametrize("bad", ["avi", "MP4", ""])
def test_an_unknown_format_raises_the_existing_error(bad, tmp_path):
    with pytest.raises(InvalidArgumentError, match=f"format '{bad}' is not supported"):
        check_format(bad)
    with pytest.raises(InvalidArgumentError, match="is not supported; choose one of 'mp4'"):
        rlvideo.VideoWriter(tmp_path / "x.mp4", format=bad)
    assert format_of_suffix(f".{bad}") is None or bad == "MP4"
