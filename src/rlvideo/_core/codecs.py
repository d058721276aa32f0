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

Small frames cost per frame, not per pixel: at 84x84 and 210x160 (Atari) a frame's fixed costs
(the conversion call, x264's per-frame work, the muxer, Python) are a large share of its ~0.2 and
~0.45 CPU-ms. :data:`SIZED_OPTIONS` gives small frames the cheapest libx264 setting found within
1.1x today's file size (``benchmarks/bench_encoder_settings.py``: Pong frames with random
actions, 600-1000 frames, 3-5 interleaved repeats; 2 cores with a test run beside it, so
single figures swing by ~10%):

- 84x84 frames are not given ``preset=ultrafast``: it measured 0.81-1.06x the CPU a frame (4
  runs; the conversion and per-frame overhead are most of the cost at this size), and its
  decoded shades drift by 2 levels on flat test frames, past the tolerance the transport tests
  hold every video to. Without the ``x264-params`` (mbtree, lookahead, B-frames) files grow
  1.6-1.9x: they are what keeps small files small;
- up to 256x256 (210x160 Atari, 160x160 MiniGrid): ``tune=zerolatency`` added to today's
  settings (the ``x264-params`` put back its B-frames, mbtree and lookahead, so x264 reports
  the same settings and the files are the same size), 0.83-0.92x the CPU (4 runs). Frames keep
  their time stamps (``duration=`` is honoured). ``ultrafast`` there is 1.14x the size;
- larger frames keep the settings above. FFmpeg's threads cost 1.1-2x the CPU a frame at these
  sizes for little or no wall time, so small frames stay on one thread.

The writer applies them by frame size (:meth:`EncoderSettings.for_size`) unless the user set a
speed option (``preset``, ``tune`` or ``x264-params``) themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from rlvideo._core.formats import FORMATS, VideoFormat
from rlvideo.errors import EncoderError, InvalidArgumentError

__all__ = [
    "DEFAULT_CODECS",
    "SIZED_OPTIONS",
    "SPEED_OPTIONS",
    "THREADED_MIN_PIXELS",
    "EncoderSettings",
    "encoder_settings",
]

DEFAULT_CODECS: Mapping[VideoFormat, str] = {name: f.codec for name, f in FORMATS.items()}
"""The encoder of each format when ``codec=None`` (:attr:`rlvideo._core.formats.Format.codec`)."""
THREADED_MIN_PIXELS = 320 * 240
_X264_PARAMS = "mbtree=1:rc-lookahead=10:bframes=3:ref=2"  # today's libx264 rate control

SPEED_OPTIONS = ("preset", "tune", "x264-params")
"""The options that trade CPU for file size: a user who sets any of them keeps them all."""
SIZED_OPTIONS: Mapping[str, tuple[tuple[int, Mapping[str, str]], ...]] = {
    # (most pixels, the speed options for frames up to that size), smallest first; measured
    # by benchmarks/bench_encoder_settings.py (the module's docstring gives the numbers)
    "libx264": (
        (256 * 256, {"preset": "superfast", "tune": "zerolatency", "x264-params": _X264_PARAMS}),
    ),
}
"""Per encoder, the speed options of small frames, in place of the base ones."""

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
    "libx264": {"preset": "superfast", "x264-params": _X264_PARAMS},
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
    user_keys: tuple[str, ...] = ()
    """The options the user set (they always win over the per-size choice)."""

    def for_size(self, width: int, height: int) -> EncoderSettings:
        """The settings for frames of ``width`` x ``height``: small ones get cheaper options.

        The speed options (:data:`SPEED_OPTIONS`) become the ones :data:`SIZED_OPTIONS` gives
        the first size class the frame fits in, unless the user set any speed option.

        Example:
            >>> s = encoder_settings("mp4")
            >>> s.for_size(84, 84).options["preset"], s.for_size(160, 210).options["tune"]
            ('ultrafast', 'zerolatency')
            >>> s.for_size(600, 400) == s
            True
            >>> encoder_settings("mp4", options={"tune": "film"}).for_size(84, 84).options["preset"]
            'superfast'
        """
        if any(key in SPEED_OPTIONS for key in self.user_keys):
            return self
        pixels = width * height
        for most, speed in SIZED_OPTIONS.get(self.codec, ()):
            if pixels <= most:
                options = {k: v for k, v in self.options.items() if k not in SPEED_OPTIONS}
                options.update(speed)
                return replace(self, options=options)
        return self


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
    user_keys = tuple(str(key) for key in options or {})
    return EncoderSettings(name, pixel_format, merged, user_keys)


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
