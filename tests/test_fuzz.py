"""Bad input, fuzzed: every input either makes a correct video or raises an RLVideoError.

Each property draws frames (0-4 dimensions, empty, odd sizes, 0-5 channels, every dtype, NaN and
inf, mixed sizes), frame rates, durations, triggers, clip lengths, name prefixes, and calls the
public API. Outcomes are judged by an independent model of the rules (the README's frame table,
gym's clip rules) and by decoding the files with PyAV:

- success: each file decodes with exactly the frames the rules select, at the size expected
  after even-padding, in the order given;
- failure: an ``RLVideoError`` (never another type) with a message; no hidden partial file is
  left; a final name holds only a complete video; frames recorded before a bad frame are kept
  as ``<name>.incomplete.<ext>``, all of them;
- never a hang (a watchdog ends the run with a traceback) and never a crash in native code.

``RLVIDEO_FUZZ_EXAMPLES=1000 pytest tests/test_fuzz.py`` hunts longer (60 examples by default).
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from rlvideo import VideoWriter, save_video
from rlvideo._core.frames import is_minigrid_symbolic
from rlvideo._core.naming import MAX_FILE_NAME_BYTES
from rlvideo.errors import InvalidArgumentError, RLVideoError
from tests.helpers import decode, folder_names

EXAMPLES = int(os.environ.get("RLVIDEO_FUZZ_EXAMPLES", "60"))  # more for a longer hunt
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the repository; a failure prints its reproducer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
WATCHDOG_SECONDS = 120  # a single example never takes more than a second or two
SHADE_TOLERANCE = 10  # mean grey level after a lossy round trip


# -- running one example ---------------------------------------------------------------------------
@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    """End the test run with every thread's traceback if one example hangs."""
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A fresh parent folder per example; the videos go to ``<it>/videos``."""
    with watchdog(), tempfile.TemporaryDirectory(dir=tmp_path) as parent:
        yield Path(parent)


def attempt(call: Callable[[], Any]) -> tuple[Any, RLVideoError | None]:
    """The call's result, or the RLVideoError it raised; any other exception fails the test."""
    error: RLVideoError | None = None
    try:
        result = call()
    except RLVideoError as exc:
        result, error = None, exc
    event("succeeded" if error is None else f"raised {type(error).__name__}")  # for statistics
    assert error is None or str(error).strip(), f"{type(error).__name__} with an empty message"
    return result, error


def assert_no_hidden_files(folder: Path) -> None:
    left = [name for name in folder_names(folder) if name.startswith(".")]
    assert not left, f"hidden partial files left behind: {left}"


def shades(path: Path) -> list[float]:
    return [float(frame.mean()) for frame in decode(path).frames]


# -- the model of which frames are valid (README, "Envs and frame kinds") --------------------------
CHANNELS = (1, 3, 4)


def as_image(array: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """``(array as (H, W) or (H, W, C), whether it was channels-first)``, or None if no image.

    The README's layout rules: a leading axis of one is dropped; ``(C, H, W)`` is read where
    channels-last cannot be (the last axis is not 1, 3 or 4) and C is smaller than H and W.
    """
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[2] not in CHANNELS:
        if array.shape[0] in CHANNELS and array.shape[0] < min(array.shape[1:]):
            return np.moveaxis(array, 0, -1), True
        return None
    return (array, False) if array.ndim in (2, 3) else None


def frame_problem(frame: Any, *, first: bool = True) -> str | None:
    """Why ``frame`` cannot become video, or None if it can.

    ``first``: whether it is the video's first frame, the one that says what the video is:
    only there are the arrays that look like images and are not refused (MiniGrid's own test,
    ``is_minigrid_symbolic``, is the one the writer uses: both must agree on what it is).
    """
    try:
        given = np.asarray(frame)
    except Exception:
        return "not an array"
    image = as_image(given)
    if image is None:
        return "shape"
    array, channels_first = image
    if array.shape[0] == 0 or array.shape[1] == 0:
        return "empty"
    kind = array.dtype.kind
    if kind in "iu" and not (int(array.min()) >= 0 and int(array.max()) <= 255):
        return "range"
    if kind == "f" and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
        return "range"
    if kind not in "biuf":
        return "dtype"
    channels = array.shape[2] if array.ndim == 3 else 1
    if first and kind == "b" and channels > 1:
        return "bool layers"
    if first and channels == 4 and array[..., 3].min() != array[..., 3].max():
        return "frame stack"
    if first and not channels_first and is_minigrid_symbolic(array):
        return "MiniGrid's symbolic observation"
    return None


def first_bad_frame(frames: list[Any]) -> int | None:
    """The index of the first frame the writer must refuse, or None if all are good."""
    shape = None
    for index, frame in enumerate(frames):
        if frame_problem(frame, first=index == 0) is not None:
            return index
        if shape is None:
            shape = np.asarray(frame).shape
        elif np.asarray(frame).shape != shape:
            return index
    return None


def expected_size(frame: np.ndarray, video_format: str) -> tuple[int, int]:
    image = as_image(np.asarray(frame))
    assert image is not None
    height, width = image[0].shape[:2]
    if video_format != "gif":  # yuv420p: padded to even by repeating the edge
        height, width = height + height % 2, width + width % 2
    return width, height


# -- strategies ------------------------------------------------------------------------------------
DTYPES = [
    "uint8", "uint16", "int8", "int64", "float16", "float32", "float64", "bool", "complex64",
    "object", "small",
]  # fmt: skip
"""``small``: uint8 in 0-10, the values of MiniGrid's symbolic observation (and of dark images)."""
FORMATS = ["mp4", "webm", "gif"]


@st.composite
def arrays_of(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "small":
        return draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, 10)))
    if dtype == "object":
        elements: st.SearchStrategy[Any] = st.one_of(
            st.integers(0, 255), st.none(), st.text(max_size=1)
        )
    elif dtype in ("uint16", "int64"):
        elements = st.integers(-3 if dtype == "int64" else 0, 300)
    elif dtype.startswith("float"):
        in_range = draw(st.booleans())
        elements = (
            st.floats(0, 1, width=np.dtype(dtype).itemsize * 8)
            if in_range
            else hnp.from_dtype(np.dtype(dtype), allow_nan=True, allow_infinity=True)
        )
    else:
        elements = hnp.from_dtype(np.dtype(dtype))
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))


SHAPES = st.one_of(
    st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3, 4])),  # usual
    st.tuples(st.integers(1, 9), st.integers(1, 9)),  # gray
    st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 5)),  # any channels, empty
    st.lists(st.integers(0, 4), max_size=4).map(tuple),  # 0 to 4 dimensions
)


@st.composite
def frame_lists(draw: st.DrawFn) -> list[np.ndarray]:
    """1-5 frames: usually one shape and dtype, sometimes each its own (mixed sizes)."""
    shape = draw(SHAPES)
    dtype = draw(st.sampled_from(DTYPES))
    count = draw(st.integers(1, 5))
    if draw(st.integers(0, 3)) == 0:
        return [draw(arrays_of(draw(SHAPES), draw(st.sampled_from(DTYPES)))) for _ in range(count)]
    return [draw(arrays_of(shape, dtype)) for _ in range(count)]


def grey_frames(count: int, height: int = 16, width: int = 24) -> list[np.ndarray]:
    """Frame i is solid grey ``shade_of(i)``: order and selection survive lossy codecs."""
    return [np.full((height, width, 3), shade_of(i), np.uint8) for i in range(count)]


def shade_of(i: int) -> int:
    return 16 + (28 * i) % 224


# -- 1. frames of every kind -----------------------------------------------------------------------
def minigrid_observation() -> np.ndarray:
    """A 7x7 MiniGrid view: empty cells, a grey wall, a locked yellow door, a green goal."""
    obs = np.zeros((7, 7, 3), np.uint8)
    obs[..., 0] = 1
    obs[0] = (2, 5, 0)
    obs[3, 2] = (4, 4, 2)
    obs[5, 1] = (8, 1, 0)
    return obs


STACK = (np.arange(8 * 8 * 4) % 251).astype(np.uint8).reshape(8, 8, 4)  # channels-last, 4 frames
KNOWN_CASES = [  # the kinds that fooled the writer or this model once (issue 19, items 13-14)
    ([np.ones((3, 3, 3), np.uint8)] * 2, "list"),  # a tiny real image, once taken for MiniGrid's
    ([minigrid_observation()], "list"),  # MiniGrid's symbolic observation: refused
    ([STACK, STACK], "array"),  # SB3's VecFrameStack: refused
    ([STACK > 100], "list"),  # MinAtar's bool layers: refused
    ([np.full((2, 2, 4), 9, np.uint8), STACK[:2, :2]], "list"),  # the first frame decides
    ([np.full((3, 5, 5), 0.5, np.float32)] * 2, "list"),  # channels-first
    ([np.full((1, 2, 2, 3), 200, np.uint8)] * 2, "generator"),  # a leading axis of one
    ([np.full((1, 2, 2, 3), 200, np.uint8)] * 2, "array"),  # ... stacked: two videos, refused
]


def with_known_cases(test: Callable[..., None]) -> Callable[..., None]:
    for frames, given_as in reversed(KNOWN_CASES):
        test = example(frames=frames, video_format="mp4", given_as=given_as)(test)
    return test


@FUZZ
@given(
    frames=frame_lists(),
    video_format=st.sampled_from(FORMATS),
    given_as=st.sampled_from(["list", "array", "generator"]),
)
@with_known_cases
def test_any_frames_make_a_correct_video_or_a_clear_error(
    tmp_path: Path, frames: list[np.ndarray], video_format: str, given_as: str
) -> None:
    bad = first_bad_frame(frames)
    argument: Any = frames
    if given_as == "array":
        assume(len({f.shape for f in frames}) == 1)
        argument = np.stack(frames)
        if argument.dtype != frames[0].dtype:  # stacking upcast the mixed dtypes
            bad = first_bad_frame(list(argument))
        if argument.ndim == 3 and argument.shape[-1] in (3, 4):
            bad = 0  # (N, H, 3) reads as one RGB image: save_video refuses it (ambiguous)
        if argument.ndim == 5 and argument.shape[0] != 1:
            bad = 0  # (N, 1, H, W, C) reads as N videos: save_video refuses it
    elif given_as == "generator":
        argument = iter(frames)
    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        paths, error = attempt(
            lambda: save_video(argument, folder, lambda i: True, fps=10, format=video_format)
        )
        final = folder / f"rl-video-episode-0.{video_format}"
        kept = folder / f"rl-video-episode-0.incomplete.{video_format}"
        if bad is None:
            assert error is None, f"valid frames refused: {error}"
            assert paths == [final]
            video = decode(final)
            assert video.count == len(frames)
            assert (video.width, video.height) == expected_size(frames[0], video_format)
            assert folder_names(folder) == {final.name}
        else:
            assert error is not None, f"frame {bad} ({frame_problem(frames[bad])}) was accepted"
            assert not final.exists(), "a final name after an error"
            assert_no_hidden_files(folder)
            if bad == 0:
                assert folder_names(folder) == set()
            else:  # every frame before the bad one is kept
                assert folder_names(folder) == {kept.name}
                assert decode(kept).count == bad


# -- 2. frame rates --------------------------------------------------------------------------------
FPS_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(1e-4, 2e3),
    st.integers(-10, 2000),
    st.fractions(min_value=0, max_value=1100, max_denominator=10_000),
    st.sampled_from([
        None, 0, -1, 1e-9, 1e-3, 0.001, 0.0009999, 1000, 1000.0001, 10**30, 29.97,
        Fraction(30000, 1001), np.float32(30), np.float64(29.97), np.int64(24), np.float16(12),
        np.bool_(True), True, False, "30", "abc", b"30", 1j, [30], float("nan"),
    ]),
)  # fmt: skip


def fps_is_valid(fps: Any) -> bool:
    if fps is None:
        return True
    if isinstance(fps, (bool, np.bool_, str, bytes)) or not isinstance(fps, (Real, np.floating)):
        return False
    return math.isfinite(float(fps)) and 0.001 <= float(fps) <= 1000


@FUZZ
@given(fps=FPS_VALUES, video_format=st.sampled_from(["mp4", "webm"]))
def test_any_fps_gives_exact_timestamps_or_a_clear_error(
    tmp_path: Path, fps: Any, video_format: str
) -> None:
    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        paths, error = attempt(
            lambda: save_video(grey_frames(3), folder, fps=fps, format=video_format)
        )
        if not fps_is_valid(fps):
            assert isinstance(error, InvalidArgumentError), f"fps={fps!r} was accepted"
            assert "fps must be" in str(error)
            assert not folder.exists()
            return
        assert error is None, f"fps={fps!r} refused: {error}"
        video = decode(paths[0])
        assert video.count == 3
        rate = 30.0 if fps is None else float(fps)
        for i, time in enumerate(video.times):
            assert time == pytest.approx(i / rate, rel=1e-3, abs=1.5e-3), f"frame {i}"


# -- 3. per-frame durations ------------------------------------------------------------------------
DURATION_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0.01, 5),
    st.integers(-2, 2000),
    st.sampled_from([
        None, 0, -0.0, 1e-9, 1000, 1000.001, np.float32(0.5), True, np.bool_(False), "1", "a",
    ]),
)  # fmt: skip


def duration_is_valid(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (bool, np.bool_, str)) or not isinstance(value, (Real, np.floating)):
        return False
    return math.isfinite(float(value)) and 0 < float(value) <= 1000


@FUZZ
@given(
    durations=st.lists(DURATION_VALUES, min_size=1, max_size=5),
    video_format=st.sampled_from(FORMATS),
)
def test_any_durations_give_exact_timestamps_or_write_nothing(
    tmp_path: Path, durations: list[Any], video_format: str
) -> None:
    frames = grey_frames(len(durations))
    bad = next((i for i, d in enumerate(durations) if not duration_is_valid(d)), None)
    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        paths, error = attempt(
            lambda: save_video(frames, folder, durations=durations, format=video_format)
        )
        if bad is not None:  # every duration is checked before the first frame: nothing written
            assert isinstance(error, InvalidArgumentError), f"duration {durations[bad]!r} taken"
            assert_no_hidden_files(folder)
            assert folder_names(folder) == set()
            return
        assert error is None, f"durations {durations!r} refused: {error}"
        video = decode(paths[0])
        assert video.count == len(frames)
        if video_format == "mp4":  # exact to a tick (1/90000 s); a tick at least per frame
            start = 0.0
            for i, duration in enumerate(durations):
                assert video.times[i] == pytest.approx(start, abs=(i + 1) / 90_000), f"frame {i}"
                start += 1 / 30 if duration is None else float(duration)
        assert [round(s) for s in shades(paths[0])] == pytest.approx(
            [shade_of(i) for i in range(len(frames))], abs=SHADE_TOLERANCE
        )


# -- 4. triggers and clip lengths: gym's rules -----------------------------------------------------
ANSWERS = [
    True, False, None, "yes", "", 1, 0, 2, 2.0, np.bool_(True), np.bool_(False), np.int64(1),
    np.array([True, False]), np.array(True), [True], "RAISE",
]  # fmt: skip


def trigger_answering(answer: Any, fires_at: set[int] | None = None) -> Callable[[int], Any]:
    """A trigger that gives ``answer`` (or raises); with ``fires_at``, True exactly there."""

    def trigger(index: int) -> Any:
        if fires_at is not None:
            return index in fires_at
        if isinstance(answer, str) and answer == "RAISE":
            raise ZeroDivisionError("a trigger's own bug")
        return answer

    return trigger


def answer_is_valid(answer: Any) -> bool:
    return isinstance(answer, (bool, np.bool_, Integral))


LENGTHS = st.one_of(
    st.none(),
    st.integers(-3, 12),
    st.sampled_from([0, 1.5, 2.0, 10**20, np.int64(3), True, "3", float("nan")]),
)


def length_is_valid(video_length: Any) -> bool:
    if video_length is None:
        return True
    return (
        isinstance(video_length, Integral)
        and not isinstance(video_length, bool)
        and video_length >= 1
    )


@FUZZ
@given(
    count=st.integers(1, 8),
    episode_answer=st.sampled_from([None, *ANSWERS]),
    step_answer=st.sampled_from([None, *ANSWERS]),
    step_fires_at=st.one_of(st.none(), st.sets(st.integers(-3, 10), max_size=4)),
    episode_index=st.integers(0, 30),
    step_starting_index=st.integers(-3, 5),
    video_length=LENGTHS,
    video_format=st.sampled_from(["mp4", "gif"]),
)
def test_triggers_and_lengths_follow_gyms_rules_or_fail_before_writing(
    tmp_path: Path,
    count: int,
    episode_answer: Any,
    step_answer: Any,
    step_fires_at: set[int] | None,
    episode_index: int,
    step_starting_index: int,
    video_length: Any,
    video_format: str,
) -> None:
    episode_trigger = None if episode_answer is None else trigger_answering(episode_answer)
    step_trigger = None if step_answer is None else trigger_answering(step_answer, step_fires_at)
    # the model: gym's rules (NOTES.md, "Behaviour to stay compatible with"); a trigger's
    # answer must be a bool or an int, and is only asked for if the trigger is called
    step_calls = 0 if step_trigger is None or step_fires_at is not None else count - 1
    valid = (
        (episode_trigger is None or answer_is_valid(episode_answer))
        and (step_calls == 0 or answer_is_valid(step_answer))
        and length_is_valid(video_length)
    )
    frames = grey_frames(count)
    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        paths, error = attempt(
            lambda: save_video(
                frames, folder, episode_trigger, step_trigger, video_length,
                episode_index=episode_index, step_starting_index=step_starting_index, fps=10,
                format=video_format,
            )
        )  # fmt: skip
        if not valid:
            assert isinstance(error, InvalidArgumentError), "an invalid trigger or length taken"
            assert not folder.exists(), "written before the arguments were checked"
            return
        assert error is None, f"refused: {error}"
        length = None if video_length is None else int(video_length)
        if episode_trigger is None and step_trigger is None:  # gym's default schedule
            episode_fires = episode_index in (0, 1, 8, 27)
        else:
            episode_fires = episode_trigger is not None and bool(episode_answer)
        expected: dict[str, list[int]] = {}
        if episode_fires:
            name = f"rl-video-episode-{episode_index}.{video_format}"
            expected[name] = list(range(count)[:length])
        for k in range(count - 1 if step_trigger is not None else 0):  # frame 0: the reset
            step = step_starting_index + k
            if step in step_fires_at if step_fires_at is not None else bool(step_answer):
                stop = count if length is None else min(count, k + 1 + length)
                expected[f"rl-video-step-{step}.{video_format}"] = list(range(k + 1, stop))
        assert {p.name for p in paths} == set(expected)
        assert folder_names(folder) == set(expected)
        for name, selected in expected.items():
            got = shades(folder / name)
            want = [shade_of(i) for i in selected]
            assert len(got) == len(want), f"{name}: {len(got)} frames, expected {len(want)}"
            assert got == pytest.approx(want, abs=SHADE_TOLERANCE), f"{name}: wrong frames"


# -- 5. name prefixes ------------------------------------------------------------------------------
PREFIXES = st.one_of(
    st.text(max_size=120),
    st.text(st.sampled_from("a ./\\\n\t\0é漢😀-\ud800\udc80\udfff"), max_size=40),
    st.integers(150, 300).map(lambda n: "x" * n),
    st.integers(60, 120).map(lambda n: "é" * n),  # 2 bytes each
    st.sampled_from(["..", ".", "", "../x", "/abs", "a/b", "rl-video", ".hidden", "-", " "]),
)


def prefix_is_valid(prefix: str) -> bool:
    if not prefix or prefix in (".", "..") or any(c in prefix for c in "/\\\0"):
        return False
    try:
        size = len(os.fsencode(prefix))
    except UnicodeEncodeError:
        return False
    return size + len("-episode-0.webm") <= MAX_FILE_NAME_BYTES


@FUZZ
@given(prefix=PREFIXES, video_format=st.sampled_from(FORMATS))
def test_any_name_prefix_writes_inside_the_folder_or_fails_clearly(
    tmp_path: Path, prefix: str, video_format: str
) -> None:
    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        paths, error = attempt(
            lambda: save_video(
                grey_frames(2), folder, lambda i: True, name_prefix=prefix, format=video_format
            )
        )
        if not prefix_is_valid(prefix):
            assert isinstance(error, InvalidArgumentError), f"name_prefix {prefix!r} was taken"
            assert "name_prefix" in str(error)
        else:
            assert error is None, f"name_prefix {prefix!r} refused: {error}"
            name = f"{prefix}-episode-0.{video_format}"
            assert paths == [folder / name]
            assert folder_names(folder) == {name}
            assert decode(folder / name).count == 2
        assert folder_names(parent) <= {"videos"}, "something was written outside the folder"


# -- 6. the writer itself: bad frames and durations mid-video --------------------------------------
@st.composite
def writer_calls(draw: st.DrawFn) -> list[tuple[Any, Any]]:
    """(frame, duration) pairs: mostly good frames of one shape, now and then a bad one."""
    shape = draw(st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3, 4])))
    calls = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 2)):
            frame: Any = np.full(shape, draw(st.integers(0, 255)), np.uint8)
        else:
            frame = draw(arrays_of(draw(SHAPES), draw(st.sampled_from(DTYPES))))
        duration = draw(st.one_of(st.none(), st.floats(0.01, 2), DURATION_VALUES))
        calls.append((frame, duration))
    return calls


@FUZZ
@given(calls=writer_calls(), video_format=st.sampled_from(FORMATS))
def test_writer_survives_refused_frames_and_keeps_the_good_ones(
    tmp_path: Path, calls: list[tuple[Any, Any]], video_format: str
) -> None:
    with scratch(tmp_path) as parent:
        path = parent / f"run.{video_format}"
        writer = VideoWriter(path, fps=25)
        accepted: list[np.ndarray] = []
        for frame, duration in calls:
            expected_ok = (
                duration_is_valid(duration) and first_bad_frame([*accepted, frame]) is None
            )
            _, error = attempt(lambda f=frame, d=duration: writer.write(f, duration=d))
            assert (error is None) == expected_ok, f"write({frame.dtype} {frame.shape}): {error}"
            if error is None:
                accepted.append(frame)
        _, error = attempt(writer.close)
        if not accepted:
            assert error is not None
            assert "no frames were written" in str(error)
            assert folder_names(parent) == set()
            return
        assert error is None, f"close() failed: {error}"
        assert folder_names(parent) == {path.name}
        video = decode(path)
        assert video.count == len(accepted)
        assert (video.width, video.height) == expected_size(accepted[0], video_format)


# -- 7. the wrapper's arguments --------------------------------------------------------------------
def mostly(valid: list[Any], invalid: list[Any]) -> st.SearchStrategy[Any]:
    """Valid values three times in four, so that whole recordings get exercised too."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid),
                     st.sampled_from(invalid))  # fmt: skip


@settings(FUZZ, max_examples=max(1, EXAMPLES * 5 // 12))
@given(
    video_length=mostly([0, 1, 3, 15], [-2, 1.5, None, np.int64(4), True]),
    fps=mostly([None, 0.5, 24, 1000], [0, -5, 1e-9, 1e6, float("nan"), "30"]),
    prefix=mostly(["rl-video", "ok run", "é"], ["../up", "", "x" * 300, "\ud800", "a\0b"]),
    episode_answer=mostly([None, True, False, np.bool_(True), 1], ["yes", "RAISE", 2.5]),
    step_answer=mostly([None, None, True, False], [np.array(True), "RAISE"]),
)
def test_record_video_arguments_fail_clearly_or_record(
    tmp_path: Path,
    video_length: Any,
    fps: Any,
    prefix: str,
    episode_answer: Any,
    step_answer: Any,
) -> None:
    import gymnasium as gym

    from rlvideo import RecordVideo

    def record() -> None:
        env = RecordVideo(
            gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=4),
            str(folder), name_prefix=prefix, video_length=video_length, fps=fps,
            encoder="thread",
            episode_trigger=None if episode_answer is None else trigger_answering(episode_answer),
            step_trigger=None if step_answer is None else trigger_answering(step_answer),
        )  # fmt: skip
        try:
            for episode in range(2):
                env.reset(seed=episode)
                for _ in range(4):
                    env.step(0)
        finally:
            env.close()

    with scratch(tmp_path) as parent:
        folder = parent / "videos"
        _, error = attempt(record)
        assert folder_names(parent) <= {"videos"}, "something was written outside the folder"
        assert_no_hidden_files(folder)
        for name in folder_names(folder):
            if error is None:  # a plain close() finishes every video; a failing run keeps the
                # video it cut off as .incomplete (close() ran while the error propagated)
                assert ".incomplete" not in name, f"{name}: every video was finished by close()"
            count = decode(folder / name).count
            assert count >= 1
            if isinstance(video_length, int) and video_length > 0:
                assert count <= video_length, f"{name}: {count} frames > video_length"


# -- not frames at all ----------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [None, 5, "frames.mp4"], ids=["None", "int", "str"])
def test_frames_that_are_not_iterable_are_a_clear_error(tmp_path: Path, frames: Any) -> None:
    with pytest.raises(RLVideoError, match="frames"):
        save_video(frames, tmp_path, lambda i: True)


# -- 8. files cut short by a failed write ---------------------------------------------------------
@pytest.fixture(scope="module")
def whole_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, int]]:
    """A fragmented MP4 as a writer leaves it on disk (three one-second fragments) and a GIF."""
    import av

    from rlvideo._core.formats import FORMATS

    folder = tmp_path_factory.mktemp("whole")
    files = {}
    mp4 = folder / "v.mp4"
    fragmented = dict(FORMATS["mp4"].muxer_options)
    with av.open(str(mp4), "w", format="mp4", options=fragmented) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(90):
            frame = av.VideoFrame.from_ndarray(grey_frames(1, 48, 64)[0] + i, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    files["mp4"] = (mp4.read_bytes(), 90)
    with VideoWriter(folder / "v.gif", fps=10) as writer:
        writer.write_batch(grey_frames(10, 48, 64))
    files["gif"] = ((folder / "v.gif").read_bytes(), 10)
    return files


@FUZZ
@given(kind=st.sampled_from(["mp4", "gif"]), cut_at=st.floats(0, 1))
def test_a_file_cut_short_anywhere_is_cut_back_to_a_playable_one(
    tmp_path: Path, whole_files: dict[str, tuple[bytes, int]], kind: str, cut_at: float
) -> None:
    from rlvideo.io.recovery import cut_to_complete_fragments, cut_to_complete_gif_frames

    data, frames = whole_files[kind]
    cut = cut_to_complete_fragments if kind == "mp4" else cut_to_complete_gif_frames
    with scratch(tmp_path) as parent:
        path = parent / f"cut.{kind}"
        path.write_bytes(data[: round(cut_at * len(data))])
        if not cut(path):
            event("nothing kept")
            return
        event("kept some frames")
        count = decode(path).count  # no decoding error: the damaged tail is gone
        assert 1 <= count <= frames
        if cut_at == 1:
            assert path.read_bytes() == data, "a whole file is left as it is"
            assert count == frames
