"""Which encoder, pixel format and options each format gets; pure, no encoding.

The defaults were chosen by measurement on 600x400 CartPole frames (see the README's
benchmark section):

- MP4: libx264, ``crf=23``, yuv420p (plays in every browser and QuickTime), ``preset=superfast``
  with ``mbtree=1:rc-lookahead=10:bframes=3:ref=2``: superfast's quick motion search with the
  rate control superfast drops. On CartPole it used ~7% less CPU than ``veryfast`` for a file
  3% larger; plain ``superfast`` files were 50% larger; ``medium`` took 1.3x the time.
- WebM: libvpx-vp9 in realtime mode (``deadline=realtime``, ``cpu-used=8``, ``row-mt=1``),
  constant quality ``crf=32`` with ``b=0``, and ``lag-in-frames=0``: libvpx would otherwise
  hold 25 frames before its first packet (frames a killed process loses); files were within 1%
  and CPU within noise of the default on CartPole.
- GIF: FFmpeg's own gif encoder, fed by ``palettegen``/``paletteuse`` with a fresh palette per
  frame (exact colours per frame, memory flat), with ``gifflags=-transdiff``: each frame is
  drawn whole, since "same as the last frame" is wrong when the palette changed.

Frames of at least :data:`THREADED_MIN_PIXELS` pixels encode with FFmpeg's automatic
threading; smaller ones (84x84 Atari crops) run faster on one thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rlvideo._core.formats import FORMATS, VideoFormat
from rlvideo.errors import EncoderError, InvalidArgumentError

__all__ = ["DEFAULT_CODECS", "THREADED_MIN_PIXELS", "EncoderSettings", "encoder_settings"]

DEFAULT_CODECS: Mapping[VideoFormat, str] = {name: f.codec for name, f in FORMATS.items()}
"""The encoder of each format when ``codec=None`` (:attr:`rlvideo._core.formats.Format.codec`)."""
THREADED_MIN_PIXELS = 320 * 240

# quality option name and range, for the encoders we know; others get no quality option
_CRF: Mapping[str, tuple[str, int, int, int]] = {
    "libx264": ("crf", 0, 51, 23),
    "libx265": ("crf", 0, 51, 28),
    "libvpx-vp9": ("crf", 0, 63, 32),
    "libvpx": ("crf", 4, 63, 10),
    "libsvtav1": ("crf", 1, 63, 35),
    "h264_nvenc": ("cq", 0, 51, 23),
    "hevc_nvenc": ("cq", 0, 51, 28),
}
_BASE_OPTIONS: Mapping[str, Mapping[str, str]] = {
    # superfast's motion search with veryfast's rate control (mbtree, lookahead) and 2 refs
    "libx264": {"preset": "superfast", "x264-params": "mbtree=1:rc-lookahead=10:bframes=3:ref=2"},
    "libx265": {"preset": "veryfast", "x265-params": "log-level=error"},
    # lag-in-frames=0: libvpx otherwise holds 25 frames before its first packet, lost to a kill
    "libvpx-vp9": {
        "deadline": "realtime",
        "cpu-used": "8",
        "row-mt": "1",
        "b": "0",
        "lag-in-frames": "0",
    },
    "libvpx": {"deadline": "realtime", "cpu-used": "8", "b": "1M", "lag-in-frames": "0"},
    "libsvtav1": {"preset": "10"},
    "h264_nvenc": {"preset": "p4"},
    "hevc_nvenc": {"preset": "p4"},
    # transdiff (on by default) marks pixels "unchanged" against the previous frame's palette,
    # which is wrong with a fresh palette per frame: MiniGrid frames kept parts of the last one
    "gif": {"gifflags": "-transdiff"},
}


@dataclass(frozen=True)
class EncoderSettings:
    """Everything the writer needs to set up its stream.

    Attributes:
        codec: FFmpeg encoder name, e.g. ``"libx264"``.
        pixel_format: The stream's pixel format, e.g. ``"yuv420p"``.
        options: Encoder options (``AVOptions``), strings as FFmpeg takes them.
    """

    codec: str
    pixel_format: str
    options: Mapping[str, str] = field(default_factory=dict)


def encoder_settings(
    video_format: VideoFormat,
    *,
    codec: str | None = None,
    crf: int | None = None,
    options: Mapping[str, str] | None = None,
) -> EncoderSettings:
    """Resolve the encoder for a format, checking the codec and quality up front.

    Args:
        video_format: ``"mp4"``, ``"webm"`` or ``"gif"``.
        codec: An FFmpeg encoder name; the format's default when None.
        crf: Constant-quality level, lower is better (libx264: 0-51, default 23).
        options: Extra encoder options that override the defaults, e.g. ``{"preset": "medium"}``.

    Returns:
        The settings.

    Raises:
        InvalidArgumentError: If the codec does not fit the format or crf is out of range.
        EncoderError: If this PyAV build has no such encoder.

    Example:
        >>> s = encoder_settings("mp4")
        >>> s.codec, s.pixel_format, s.options["crf"], s.options["preset"]
        ('libx264', 'yuv420p', '23', 'superfast')
        >>> encoder_settings("mp4", crf=99)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: crf=99 is out of range for libx264: use 0 (best) to 51 (smallest); the default is 23
    """  # noqa: E501
    record = FORMATS[video_format]
    name = codec or record.codec
    family = _codec_family(name)
    if family not in record.holds:
        raise InvalidArgumentError(
            f"codec {name!r} ({family}) cannot go in a .{video_format} file; "
            f"use one of {record.holds} or leave codec=None for {record.codec}"
        )
    merged = dict(_BASE_OPTIONS.get(name, {}))
    if name in _CRF:
        key, low, high, default = _CRF[name]
        if crf is not None and (
            isinstance(crf, bool) or not isinstance(crf, int) or not low <= crf <= high
        ):
            raise InvalidArgumentError(
                f"crf={crf!r} is out of range for {name}: use {low} (best) to {high} "
                f"(smallest); the default is {default}"
            )
        merged[key] = str(default if crf is None else crf)
    elif crf is not None:
        raise InvalidArgumentError(
            f"crf does not apply to {name}; leave crf=None (GIF quality is set by its palette)"
        )
    merged.update({str(k): str(v) for k, v in (options or {}).items()})
    pixel_format = record.pixel_format
    if options:
        _check_options(name, pixel_format, merged, user=options)
    return EncoderSettings(name, pixel_format, merged)


_WELL_KNOWN_OPTIONS = (
    "preset", "tune", "crf", "qp", "profile", "level", "x264-params", "x265-params", "b", "g",
    "bf", "maxrate", "bufsize", "threads", "deadline", "cpu-used", "row-mt", "lag-in-frames",
    "tile-columns", "svtav1-params", "lossless", "speed",
)  # fmt: skip
"""Encoder options people set, for a did-you-mean (PyAV does not list a codec's options)."""


def _check_options(
    name: str, pixel_format: str, options: Mapping[str, str], *, user: Mapping[str, str]
) -> None:
    """Raise for a user's encoder option that ``name`` does not have (a typo FFmpeg ignores).

    The encoder is opened once on a tiny frame size: FFmpeg hands back the options it did not
    use. An encoder that cannot open here (a GPU encoder without its GPU) is not checked.
    """
    import av

    context: Any = av.CodecContext.create(name, "w")  # a video context (PyAV types the base)
    context.width, context.height, context.pix_fmt = 64, 64, pixel_format
    context.time_base = Fraction(1, 30)
    context.options = dict(options)
    try:
        context.open()
    except Exception:  # a bad value, or no device: the writer reports it when it starts
        return
    unused = [key for key in user if str(key) in context.options]
    if unused:
        from rlvideo._core.options import did_you_mean

        raise InvalidArgumentError(
            f"encoder option {unused[0]!r} is not an option of {name}"
            f"{did_you_mean(unused[0], _WELL_KNOWN_OPTIONS)}: FFmpeg would ignore it "
            f"(`ffmpeg -h encoder={name}` lists its options)"
        )


# the codec each encoder we configure produces: checking these needs no PyAV in the caller
_KNOWN_FAMILIES: Mapping[str, str] = {
    "libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9", "libvpx": "vp8",
    "libsvtav1": "av1", "h264_nvenc": "h264", "hevc_nvenc": "hevc", "gif": "gif",
}  # fmt: skip


def _codec_family(name: str) -> str:
    """The codec an encoder produces (``libx264`` -> ``h264``), or an error if it is unknown."""
    if name in _KNOWN_FAMILIES:
        return _KNOWN_FAMILIES[name]
    import av

    try:
        return str(av.codec.Codec(name, "w").canonical_name)
    except ValueError as exc:  # av.codec.codec.UnknownCodecError
        raise EncoderError(
            f"this PyAV build has no encoder named {name!r}; leave codec=None for the "
            f"format's default ({', '.join(DEFAULT_CODECS.values())})"
        ) from exc
