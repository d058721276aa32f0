"""What a video will be, checked once: :class:`WriterSpec`, and the checks behind it. Pure.

Every layer that writes a video (:class:`~rlvideo.VideoWriter`, the background encoder, the
recorder under the wrappers, ``save_video``) is given one frozen :class:`WriterSpec`, built and
validated where the user's arguments arrive, and passes it down unchanged: the settings are
checked in one place, and a worker process receives the same object (it pickles) instead of a
dict of options to check again. Building one imports no PyAV for the default encoders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import isfinite
from numbers import Rational
from typing import Any

import numpy as np

from rlvideo._core.codecs import EncoderSettings, encoder_settings
from rlvideo._core.formats import FORMATS, VideoFormat, check_format
from rlvideo._core.frames import DEFAULT_FLOAT_RANGE, FrameConverter, check_float_range
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "MAX_FPS",
    "MAX_FRAME_SECONDS",
    "MIN_FPS",
    "WriterSpec",
    "check_duration",
    "check_fps",
]

MIN_FPS = Fraction(1, 1000)
"""The lowest frame rate: one frame per 1000 seconds."""
MAX_FPS = 1000
"""The highest frame rate."""
MAX_FRAME_SECONDS = 1000
"""The longest a single frame may last (``duration=``); MP4 stores durations in 32 bits."""


def check_fps(fps: Any) -> Fraction:
    """Return ``fps`` as an exact fraction (29.97 -> 2997/100), or raise a clear error.

    Any real number from :data:`MIN_FPS` (0.001) to :data:`MAX_FPS` (1000) is accepted,
    NumPy scalars and fractions included; it is kept exact to a denominator of at most 1001.

    Example:
        >>> check_fps(29.97), check_fps(30)
        (Fraction(2997, 100), Fraction(30, 1))
        >>> check_fps(0)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: fps must be a finite number above 0 (at least 0.001 and at most 1000), got 0
    """  # noqa: E501 (doctest output stays on one line)
    exact: Fraction | None = None
    if not isinstance(fps, (bool, np.bool_, str, bytes)):
        try:
            value = float(fps)
            if isfinite(value) and float(MIN_FPS) <= value <= MAX_FPS:
                if isinstance(fps, Rational):  # int, Fraction, NumPy integers: exact already
                    exact = Fraction(int(fps.numerator), int(fps.denominator))
                else:
                    exact = Fraction(value)
                exact = exact.limit_denominator(1001)
        except (TypeError, ValueError, OverflowError):
            exact = None
    if exact is None or not MIN_FPS <= exact <= MAX_FPS:
        raise InvalidArgumentError(
            InvalidArgumentError.Term("fps"),
            f" must be a finite number above 0 (at least {float(MIN_FPS):g} and at most "
            f"{MAX_FPS}), got {fps!r}",
            value=fps,
        )
    return exact


def check_duration(duration: Any, index: int) -> float:
    """Return a frame's ``duration`` in seconds, or raise a clear error naming the frame.

    Example:
        >>> check_duration(0.5, 3)
        0.5
        >>> check_duration(float("nan"), 3)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: frame 3: duration must be a positive number of seconds (at most 1000), got nan
    """  # noqa: E501 (doctest output stays on one line)
    try:
        seconds = None if isinstance(duration, (bool, np.bool_, str, bytes)) else float(duration)
    except (TypeError, ValueError, OverflowError):
        seconds = None
    if seconds is None or not isfinite(seconds) or not 0 < seconds <= MAX_FRAME_SECONDS:
        raise InvalidArgumentError(
            f"frame {index}: duration must be a positive number of seconds "
            f"(at most {MAX_FRAME_SECONDS}), got {duration!r}"
        )
    return seconds


@dataclass(frozen=True)
class WriterSpec:
    """How every video of a writer, recorder or ``save_video`` call is encoded; valid by build.

    Make one with :meth:`build`, which checks every setting and raises a clear error, rather
    than with the constructor.

    Attributes:
        format: ``"mp4"``, ``"webm"`` or ``"gif"``.
        fps: Frames per second, exact.
        encoder: The codec, its pixel format and options (:mod:`rlvideo._core.codecs`).
        overwrite: What an existing file of the same name gets: None (default) replaced, said
            once per folder; True replaced quietly; False an error
            (:class:`~rlvideo.errors.VideoExistsError`) before anything is written.
        threads: None: use the machine's cores; 1: encode on one thread.
        float_range: The values of black and white in float frames, ``(0.0, 1.0)`` by
            default (:mod:`rlvideo._core.frames`).

    Example:
        >>> spec = WriterSpec.build(format="mp4", fps=29.97, crf=20)
        >>> spec.fps, spec.encoder.codec, spec.encoder.options["crf"], spec.pad_to_even
        (Fraction(2997, 100), 'libx264', '20', True)
        >>> WriterSpec.build(format="gif", fps=10).pad_to_even
        False
        >>> WriterSpec.build(format="avi")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: format 'avi' is not supported; choose one of 'mp4', 'webm', 'gif'
    """  # noqa: E501 (doctest output stays on one line)

    format: VideoFormat
    fps: Fraction
    encoder: EncoderSettings
    overwrite: bool | None = None
    threads: int | None = None
    float_range: tuple[float, float] = DEFAULT_FLOAT_RANGE

    @classmethod
    def build(
        cls,
        *,
        format: str = "mp4",  # the word users know from PyAV and mediapy
        fps: Any = 30,
        codec: str | None = None,
        crf: int | None = None,
        options: Mapping[str, str] | None = None,
        overwrite: bool | None = None,
        threads: int | None = None,
        float_range: Any = DEFAULT_FLOAT_RANGE,
    ) -> WriterSpec:
        """Check the settings and return the spec.

        Raises:
            InvalidArgumentError: For a bad format, fps, codec, crf, overwrite, threads or
                float_range.
            EncoderError: If this PyAV build has no such encoder.
        """
        video_format = check_format(format)
        exact_fps = check_fps(fps)
        settings = encoder_settings(video_format, codec=codec, crf=crf, options=options)
        if overwrite not in (None, True, False):
            raise InvalidArgumentError(
                f"overwrite must be None (replace, saying so), True or False, got {overwrite!r}"
            )
        if threads not in (None, 1):
            raise InvalidArgumentError(f"threads must be None (all cores) or 1, got {threads!r}")
        replace = None if overwrite is None else bool(overwrite)
        return cls(
            video_format, exact_fps, settings, replace, threads,
            check_float_range(float_range),
        )  # fmt: skip

    @property
    def pad_to_even(self) -> bool:
        """Whether frames are padded to even sizes (yuv420p needs them; GIF does not)."""
        return FORMATS[self.format].even_size

    def frame_converter(self) -> FrameConverter:
        """A converter for one video's frames, padding and float range as this spec says."""
        return FrameConverter(pad_to_even=self.pad_to_even, float_range=self.float_range)

    @property
    def codec(self) -> str:
        """The encoder's name, e.g. ``"libx264"``."""
        return self.encoder.codec

    def replace(self, **changes: Any) -> WriterSpec:
        """A copy with some fields changed (``threads=1`` for the background worker)."""
        from dataclasses import replace

        return replace(self, **changes)
