"""rlvideo's save_video beside Gymnasium 1.4's own, on the same frames and trigger settings.

Both write into their own folder. The file names must be the same set; every rlvideo video
must hold exactly the frames Gymnasium *asked* moviepy for (computed here from Gymnasium's
slicing rule, not from what moviepy wrote, which can be off by one), in order, pixel for pixel
within H.264's loss. The colour of each source frame encodes its index, so a decoded frame
tells which source frame it came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

gym_save_video_module = pytest.importorskip("gymnasium.utils.save_video")
gym_save_video = gym_save_video_module.save_video

from rlvideo import save_video  # noqa: E402 (after the importorskip)

Frame = npt.NDArray[np.uint8]
Trigger = Callable[[int], bool]

WIDTH, HEIGHT = 64, 48
FRAME_COUNT = 25  # colour step 10: frame 24 is the last with R = 10 * i below 256
MAX_MAE = 6.0  # mean absolute error per channel, 0-255 scale; neighbours differ by ~6.7


# -- shared helpers: decode with PyAV directly, never with rlvideo.probe -------------------------
def indexed_frame(i: int) -> Frame:
    """A frame whose colour encodes ``i``: R = 10i, G = 250 - 10i, B a horizontal ramp."""
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[..., 0] = 10 * i % 256
    frame[..., 1] = (250 - 10 * i) % 256
    frame[..., 2] = np.linspace(0, 255, WIDTH).astype(np.uint8)[None, :]
    return frame


FRAMES = [indexed_frame(i) for i in range(FRAME_COUNT)]


def decode_frames(path: Path) -> list[Frame]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def mae(a: Frame, b: Frame) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def listing(folder: Path) -> set[str]:
    """The files in ``folder``; a folder that was never created holds none."""
    return set(os.listdir(folder)) if folder.exists() else set()


def gym_asked_for(
    frame_count: int,
    episode_trigger: Trigger | None,
    step_trigger: Trigger | None,
    video_length: int | None,
    name_prefix: str,
    episode_index: int,
    step_starting_index: int,
) -> dict[str, list[int]]:
    """File name -> source frame indices that Gymnasium 1.4 hands to moviepy (its own rules)."""
    indices = list(range(frame_count))
    if episode_trigger is None and step_trigger is None:
        episode_trigger = gym_save_video_module.capped_cubic_video_schedule
    asked: dict[str, list[int]] = {}
    if episode_trigger is not None and episode_trigger(episode_index):
        asked[f"{name_prefix}-episode-{episode_index}.mp4"] = indices[:video_length]
    if step_trigger is not None:
        for k in range(frame_count - 1):  # frames[1:], the reset frame is skipped
            step = step_starting_index + k
            if step_trigger(step):
                end = None if video_length is None else k + 1 + video_length
                asked[f"{name_prefix}-step-{step}.mp4"] = indices[k + 1 : end]
    return asked


# -- the cases ---------------------------------------------------------------------------------
def always(_: int) -> bool:
    return True


def every_10(i: int) -> bool:
    return i % 10 == 0


def zero_or_five(i: int) -> bool:
    return i in {0, 5}


def even(i: int) -> bool:
    return i % 2 == 0


def last_step(i: int) -> bool:
    return i == FRAME_COUNT - 2


def case(
    case_id: str,
    *,
    episode_trigger: Trigger | None = None,
    step_trigger: Trigger | None = None,
    video_length: int | None = None,
    name_prefix: str = "rl-video",
    episode_index: int = 0,
    step_starting_index: int = 0,
) -> object:
    kwargs = {
        "episode_trigger": episode_trigger,
        "step_trigger": step_trigger,
        "video_length": video_length,
        "name_prefix": name_prefix,
        "episode_index": episode_index,
        "step_starting_index": step_starting_index,
    }
    return pytest.param(kwargs, id=case_id)


CASES = [
    # default triggers: capped cubic schedule on the episode index
    *(case(f"default-episode-{i}", episode_index=i) for i in (0, 1, 2, 8, 27, 64, 1000, 1001)),
    case("default-episode-8-length-7", episode_index=8, video_length=7),
    case("default-episode-4-not-a-cube", episode_index=4),
    # episode trigger only
    case("episode-always", episode_trigger=always),
    case("episode-always-length-1", episode_trigger=always, video_length=1),
    case("episode-always-length-7", episode_trigger=always, video_length=7),
    case("episode-always-length-longer", episode_trigger=always, video_length=100),
    case("episode-even-index-3", episode_trigger=even, episode_index=3),
    case("episode-even-index-6-length-5", episode_trigger=even, episode_index=6, video_length=5),
    # step trigger only
    *(
        case(f"step-{name}-length-{length}", step_trigger=trigger, video_length=length)
        for name, trigger in (("every-10", every_10), ("every", always), ("0-or-5", zero_or_five))
        for length in (None, 1, 7, 100)
    ),
    case("step-last-step-only", step_trigger=last_step),
    case("step-last-step-only-length-5", step_trigger=last_step, video_length=5),
    # both triggers
    case("both", episode_trigger=always, step_trigger=every_10),
    case("both-length-5", episode_trigger=always, step_trigger=every_10, video_length=5),
    case(
        "both-episode-not-firing",
        episode_trigger=even,
        step_trigger=zero_or_five,
        episode_index=7,
        video_length=3,
    ),
    # nonzero step_starting_index
    case("start-100-every-10", step_trigger=every_10, step_starting_index=100),
    case("start-3-every-10-length-4", step_trigger=every_10, step_starting_index=3, video_length=4),
    case("start-6-0-or-5-fires-never", step_trigger=zero_or_five, step_starting_index=6),
    case(
        "start-95-both-index-1000",
        episode_trigger=None,
        step_trigger=every_10,
        step_starting_index=95,
        episode_index=1000,
        video_length=8,
    ),
    # custom name_prefix
    case("prefix-default-trigger", name_prefix="cartpole", episode_index=1),
    case("prefix-with-dot", name_prefix="agent.v2", step_trigger=every_10, video_length=3),
    case(
        "prefix-both",
        name_prefix="eval_run-7",
        episode_trigger=always,
        step_trigger=zero_or_five,
        video_length=2,
        episode_index=12,
    ),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_same_files_and_frames_as_gymnasium(tmp_path: Path, kwargs: dict[str, object]) -> None:
    gym_folder, rl_folder = tmp_path / "gymnasium", tmp_path / "rlvideo"
    asked = gym_asked_for(FRAME_COUNT, **kwargs)  # type: ignore[arg-type]

    gym_save_video(list(FRAMES), str(gym_folder), fps=30, **kwargs)
    written = save_video(list(FRAMES), rl_folder, fps=30, **kwargs)

    assert listing(gym_folder) == set(asked), "the oracle must agree with Gymnasium itself"
    assert listing(rl_folder) == listing(gym_folder)
    # episode video first, then step videos in step order, all absolute paths
    assert [p.name for p in written] == list(asked)
    assert all(p.is_absolute() and p.parent == rl_folder for p in written)

    for name, sources in asked.items():
        decoded = decode_frames(rl_folder / name)
        assert len(decoded) == len(sources), f"{name}: {len(decoded)} frames, asked {sources}"
        for j, (got, source) in enumerate(zip(decoded, sources, strict=True)):
            assert got.shape == (HEIGHT, WIDTH, 3)
            errors = [mae(got, frame) for frame in FRAMES]
            assert errors[source] < MAX_MAE, f"{name} frame {j}: MAE {errors[source]:.2f}"
            assert int(np.argmin(errors)) == source, f"{name} frame {j} is not frame {source}"


def test_numpy_array_frames_give_the_videos_gymnasium_gives_for_the_list(tmp_path: Path) -> None:
    """An (N, H, W, 3) array slices like the list (Gymnasium itself needs a list for moviepy)."""
    kwargs: dict[str, object] = {"step_trigger": zero_or_five, "video_length": 6}
    gym_save_video(list(FRAMES), str(tmp_path / "gymnasium"), fps=30, **kwargs)
    save_video(np.stack(FRAMES), tmp_path / "rlvideo", fps=30, **kwargs)
    asked = gym_asked_for(FRAME_COUNT, None, zero_or_five, 6, "rl-video", 0, 0)
    assert listing(tmp_path / "rlvideo") == listing(tmp_path / "gymnasium") == set(asked)
    for name, sources in asked.items():
        assert len(decode_frames(tmp_path / "rlvideo" / name)) == len(sources)


def test_relative_folder_resolves_like_gymnasium(tmp_path: Path) -> None:
    """Gymnasium takes os.path.abspath of the folder: relative to the working directory."""
    os.chdir(tmp_path)  # the autouse fixture already did; be explicit, it is the point here
    gym_save_video(list(FRAMES), "gym-videos", fps=30, episode_index=8)
    written = save_video(list(FRAMES), "rl-videos", fps=30, episode_index=8)
    assert written == [tmp_path / "rl-videos" / "rl-video-episode-8.mp4"]
    assert listing(tmp_path / "rl-videos") == listing(tmp_path / "gym-videos")


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"episode_trigger": always}, id="episode"),
        pytest.param({"step_trigger": zero_or_five, "video_length": 7}, id="step"),
    ],
)
def test_frame_j_is_shown_at_j_over_fps_like_gymnasium(
    tmp_path: Path, kwargs: dict[str, object]
) -> None:
    """Gymnasium's (moviepy's) videos show frame j at j / fps, the first frame at 0.

    rlvideo's H.264 MP4s start late by the encoder's B-frame delay (about 2 frames, 0.066 s):
    the fragmented partial file is written with ``empty_moov``, so no edit list compensates the
    composition offset, and the remux in ``close()`` copies the shifted timestamps.
    """
    gym_save_video(list(FRAMES), str(tmp_path / "gymnasium"), fps=30, **kwargs)
    written = save_video(list(FRAMES), tmp_path / "rlvideo", fps=30, **kwargs)
    assert written
    for path in written:
        gym_times = frame_times(tmp_path / "gymnasium" / path.name)
        assert gym_times[0] == 0.0  # the reference
        rl_times = frame_times(path)
        expected = [j / 30 for j in range(len(rl_times))]
        assert rl_times == pytest.approx(expected, abs=1e-3), f"{path.name} starts late"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"episode_index": np.int64(8)}, id="episode_index"),
        pytest.param(
            {"step_trigger": every_10, "step_starting_index": np.int64(3), "video_length": 4},
            id="step_starting_index",
        ),
    ],
)
def test_numpy_integer_indices_are_accepted_like_gymnasium(
    tmp_path: Path, kwargs: dict[str, object]
) -> None:
    """Counters kept in NumPy arrays give np.int64 indices; Gymnasium takes them as ints.

    rlvideo already takes a NumPy ``video_length`` (numbers.Integral) but not NumPy indices.
    """
    gym_save_video(list(FRAMES), str(tmp_path / "gymnasium"), fps=30, **kwargs)
    written = save_video(list(FRAMES), tmp_path / "rlvideo", fps=30, **kwargs)
    assert {p.name for p in written} == listing(tmp_path / "gymnasium")
    assert listing(tmp_path / "gymnasium")  # the case writes something


# -- Gymnasium's own tests of save_video and both RecordVideo wrappers, the import swapped ---
UPSTREAM = Path(__file__).parent / "gymnasium_upstream"
"""Verbatim copies of Gymnasium's tests (main at 3f0476a8, 2026-08-19; MIT, see its LICENSE),
kept as text so that neither pytest nor ruff takes them for ours. To update, copy Gymnasium's
``tests/utils/test_save_video.py``, ``tests/wrappers/test_record_video.py`` and
``tests/wrappers/vector/test_record_video.py`` over them: each ``test_*`` function found there
runs here as ``test_gymnasium_<label>_<name>``, with its own parametrization."""

# file -> (label, Gymnasium's import, rlvideo's)
SWAPS = {
    "utils_test_save_video": (
        "save_video",
        "from gymnasium.utils.save_video import capped_cubic_video_schedule, save_video",
        "from rlvideo import capped_cubic_video_schedule, save_video",
    ),
    "wrappers_test_record_video": (
        "record_video",
        "from gymnasium.wrappers import RecordVideo, RenderCollection",
        "from gymnasium.wrappers import RenderCollection\nfrom rlvideo import RecordVideo",
    ),
    "wrappers_vector_test_record_video": (
        "vector_record_video",
        "from gymnasium.wrappers.vector import RecordVideo",
        "from rlvideo.wrappers.vector import RecordVideo",
    ),
}

DIFFERENCES = {
    # the README's "Coming from gym" lists it; test_wrappers.py pins rlvideo's count (exact L)
    "test_video_length": "a video_length=L video holds L frames (Gymnasium's hold L + 1), so it "
    "stops recording one step earlier than Gymnasium's test expects",
}


def _load_upstream(file: str) -> dict[str, Callable[..., None]]:
    """The ``test_*`` functions of one of Gymnasium's test files, importing rlvideo's code."""
    _, old, new = SWAPS[file]
    source = (UPSTREAM / f"{file}.py.txt").read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{file}: Gymnasium's import is no longer {old!r}"
    namespace: dict[str, Any] = {"__name__": f"gymnasium_upstream.{file}"}
    exec(compile(source.replace(old, new), str(UPSTREAM / f"{file}.py"), "exec"), namespace)
    return {
        name: function
        for name, function in namespace.items()
        if name.startswith("test_") and callable(function)
    }


for _file, (_label, _, _) in SWAPS.items():
    for _name, _test in _load_upstream(_file).items():
        if _name in DIFFERENCES:  # strict: the day it passes, the README's table is wrong
            _differs = pytest.mark.xfail(
                strict=True, raises=AssertionError, reason=DIFFERENCES[_name]
            )
            _test = _differs(_test)
        globals()[f"test_gymnasium_{_label}_{_name.removeprefix('test_')}"] = _test


def test_every_upstream_test_runs_here() -> None:
    """Each test in the copies runs here, and each documented difference names one of them."""
    upstream = {file: set(_load_upstream(file)) for file in SWAPS}
    run_here = {
        f"test_gymnasium_{SWAPS[file][0]}_{name.removeprefix('test_')}"
        for file, names in upstream.items()
        for name in names
    }
    assert run_here <= set(globals())
    for file in SWAPS:  # they run rlvideo's code, not Gymnasium's
        namespace = next(iter(_load_upstream(file).values())).__globals__
        swapped = namespace.get("RecordVideo") or namespace["save_video"]
        assert swapped.__module__.startswith("rlvideo."), file
    assert set(DIFFERENCES) <= set().union(*upstream.values())
    # Gymnasium's test_incompatible_render_mode ends with RecordVideo.__new__(RecordVideo).__del__()
    assert "test_gymnasium_record_video_incompatible_render_mode" in run_here
    assert "test_gymnasium_vector_record_video_incompatible_render_mode" in run_here
