"""The fault matrix: every writer x every format x a kill, Ctrl-C and a full disk.

Each cell records a video that finishes, then one that a fault cuts short after a known number
of frames, and checks what the README's guarantees promise, on the files, decoded with PyAV:

- nothing under a final name is half-written: each decodes whole, with its frames in order;
- the video the fault cut short is kept as ``<name>.incomplete.<ext>`` (for a kill: by the
  encoder process itself, or by ``rlvideo recover DIR``), holding its first frames in order;
- no hidden file is left (after ``rlvideo recover`` for a kill), and nothing else is written.

Faults come at fixed points, never after a sleep: the env's ``step`` (or the frames' iterator)
kills its own process with SIGKILL or raises KeyboardInterrupt when the faulted video has
``before`` frames; a full disk is a file size limit that falls, once that many frames went into
an encoder, to the size the video's file had then (:func:`tests.helpers.fill_disk_after`;
in the encoder process through a ``sitecustomize`` on its ``PYTHONPATH``).

Every frame is solid, its colour encoding its index (:func:`tests.helpers.code_frame`), so each
decoded frame says which it is. All cells run in one child process, each in a fork of it (its
own process group; the child is a subreaper, so it waits for encoder processes that outlive a
killed cell); the tests then read the folders the cells left.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from tests.helpers import CODES, code_frame, code_of, decode, fill_disk_after, folder_names
from tests.test_faults import hidden

REPO = Path(__file__).resolve().parents[1]
FORMATS = ("mp4", "webm", "gif")
FAULTS = ("sigkill", "ctrl_c", "ctrl_c_handoff", "full_disk")
"""``ctrl_c_handoff``: Ctrl-C inside the hand-off of frame records to the encoder process (the
socket send of a batch, once it went out), for the writers that have one."""
WRITERS = (
    "save_video",  # the drop-in: an episode video (a generator, streamed)
    "save_video_steps",  # the drop-in: step clips (frames read on demand)
    "VideoWriter",
    "RecordVideo-process",
    "RecordVideo-thread",
    "vector",  # rlvideo.wrappers.vector.RecordVideo, two envs tiled
    "sb3",  # rlvideo.wrappers.sb3.VecVideoRecorder
    "pettingzoo",  # rlvideo.wrappers.pettingzoo.RecordVideo, a parallel env
)
FPS = 10  # one MP4 fragment (a second) every 10 frames
BEFORE = 30  # frames of the faulted video handed over before the fault (3 s)
AFTER = 20  # frames after it, when the fault stops nothing (a full disk)
HAS_SB3 = importlib.util.find_spec("stable_baselines3") is not None
FULL_DISK_ENV = "RLVIDEO_TEST_FILL_DISK_AFTER"
PROCESS_BATCH = 16  # the process encoder's batch (MAX_BATCH): its ring holds 256 of these frames
HELD = {"mp4": FPS + 1 + 11 + 3, "webm": FPS + 1, "gif": 1}
"""Frames only the encoder or the muxer holds: an unfinished fragment (MP4) or cluster (WebM) of
up to a second, x264's look-ahead of 11 frames and up to 3 that recover drops so that no frame
follows a missing one (B-frames lost with the last fragment), the GIF muxer's last frame."""


@dataclass(frozen=True)
class Plan:
    """What a writer's cell records: the videos it finishes, then the one the fault cuts short.

    Attributes:
        finished: Each finished video's stem: (code of its first frame, frames).
        faulted: The stem of the video the fault cuts short.
        first: The code of its first frame.
        before: Its frames handed over before the fault.
        process: Whether a separate encoder process writes the videos.
        background: Whether videos are finished in the background (by the wrappers' encoder).
    """

    finished: dict[str, tuple[int, int]]
    faulted: str
    first: int
    before: int = BEFORE
    process: bool = False
    background: bool = False

    @property
    def encoded_before(self) -> int:
        """Frames that reach an encoder (in its process) before the fault."""
        return sum(count for _, count in self.finished.values()) + self.before


EPISODE = Plan({"rl-video-episode-0": (0, 11)}, "rl-video-episode-1", 0)
EPISODES = Plan(EPISODE.finished, EPISODE.faulted, 0, process=True, background=True)
PLANS = {
    "save_video": EPISODE,
    # clips of 40 steps from frames[1]: step-0 holds frames 1-40; the fault comes at frame 71
    "save_video_steps": Plan({"rl-video-step-0": (1, 40)}, "rl-video-step-40", 41),
    "VideoWriter": Plan({"a": (0, 11)}, "b", 0),
    "RecordVideo-process": EPISODES,
    "RecordVideo-thread": Plan(EPISODE.finished, EPISODE.faulted, 0, background=True),
    "vector": EPISODES,
    # one long episode; videos at steps 0 and 41 of 41 frames (video_length=40)
    "sb3": Plan(
        {"rl-video-step-0-to-step-40": (0, 41)},
        "rl-video-step-41-to-step-81",
        41,
        process=True,
        background=True,
    ),
    "pettingzoo": EPISODES,
}


def cells() -> Iterator[Any]:
    for writer in WRITERS:
        for fmt in FORMATS:
            for fault in FAULTS:
                if fault == "ctrl_c_handoff" and not PLANS[writer].process:
                    continue
                yield pytest.param(writer, fmt, fault, id=f"{writer}-{fmt}-{fault}")


# -- the cells, run in a fork of the child process ---------------------------------------------
class Fault:
    """The fault, at its point: the faulted video has ``plan.before`` frames when it is called."""

    def __init__(self, kind: str, plan: Plan, folder: Path, fmt: str, outcome: Path) -> None:
        self.kind, self.plan, self.folder, self.fmt, self.outcome = kind, plan, folder, fmt, outcome
        self.wrapper: Any = None  # a wrapper with a thread encoder: drained before a kill

    def __call__(self) -> None:
        if self.kind == "ctrl_c":
            raise KeyboardInterrupt
        if self.kind == "ctrl_c_handoff":
            interrupt_next_send()
        if self.kind == "sigkill":
            # the videos finished before are final first (the wrappers' encoder publishes them
            # on its own): waiting on that condition, not for a time
            finals = [self.folder / f"{stem}.{self.fmt}" for stem in self.plan.finished]
            deadline = time.monotonic() + 60
            while self.plan.background and time.monotonic() < deadline:
                if all(path.exists() for path in finals):
                    break
                time.sleep(0.01)
            if self.wrapper is not None:  # what reached the disk is then what inline encoding
                drain(self.wrapper._recorder._encoder)  # leaves: the kill comes at a fixed point
            self.outcome.write_text(json.dumps({"killed": True}))
            os.kill(os.getpid(), signal.SIGKILL)


def interrupt_next_send() -> None:
    """A real Ctrl-C (SIGINT) in the next socket send of this process, once the data went out.

    The signal is delivered at once; Python raises KeyboardInterrupt at the next instruction
    unless the code sending defers it.
    """
    import socket

    originals = {name: getattr(socket.socket, name) for name in ("send", "sendall")}

    def interrupting(name: str) -> Callable[..., Any]:
        def send_then_interrupt(self: socket.socket, *args: Any) -> Any:
            for each, original in originals.items():
                setattr(socket.socket, each, original)
            sent = originals[name](self, *args)
            os.kill(os.getpid(), signal.SIGINT)
            return sent

        return send_then_interrupt

    for name in originals:
        setattr(socket.socket, name, interrupting(name))


def drain(encoder: Any) -> None:
    """Wait until a thread encoder has taken every frame handed to it (every slot is free)."""
    deadline = time.monotonic() + 60
    while len(encoder._free) < encoder.slots and time.monotonic() < deadline:
        encoder.poll()
        time.sleep(0.001)


def fault_at(fault: Callable[[], None], count: int) -> Callable[[int], None]:
    """``check(i)``: the fault, when ``i == count``."""

    def check(i: int) -> None:
        if i == count:
            fault()

    return check


def run_save_video(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    from rlvideo import save_video

    save_video([code_frame(i) for i in range(11)], folder, fps=FPS, format=fmt)
    check = fault_at(fault, BEFORE)

    def frames() -> Iterator[Any]:
        for i in range(BEFORE + AFTER):
            check(i)
            yield code_frame(i)

    save_video(frames(), folder, episode_index=1, fps=FPS, format=fmt)


class OnDemand(Sequence[Any]):
    """Frames rendered when read (the fault comes when frame ``at`` is read)."""

    def __init__(self, count: int, check: Callable[[int], None]) -> None:
        self.count, self.check = count, check

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: Any) -> Any:
        if not isinstance(i, int):
            raise TypeError("read one frame at a time")
        self.check(i)
        return code_frame(i)


def run_save_video_steps(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    from rlvideo import save_video

    frames = OnDemand(121, fault_at(fault, 41 + BEFORE))
    save_video(
        frames, folder, step_trigger=lambda s: s % 40 == 0, video_length=40, fps=FPS, format=fmt
    )


def run_video_writer(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    from rlvideo import VideoWriter

    with VideoWriter(folder / f"a.{fmt}", fps=FPS) as writer:
        for i in range(11):
            writer.write(code_frame(i))
    check = fault_at(fault, BEFORE)
    with VideoWriter(folder / f"b.{fmt}", fps=FPS) as writer:
        for i in range(BEFORE + AFTER):
            check(i)
            writer.write(code_frame(i))


class Clock:
    """An env's time: episode 0 lasts ``first`` steps (None: for ever), later ones 50.

    Its frame shows the step within the episode; the fault comes at ``(episode, step)``.
    """

    def __init__(
        self, fault: Callable[[], None] | None, at: tuple[int, int], first: int | None = 10
    ) -> None:
        self.fault, self.at, self.first = fault, at, first
        self.episode, self.t = -1, 0

    def reset(self) -> None:
        self.episode, self.t = self.episode + 1, 0

    def step(self) -> bool:
        """One step; True when the episode ends."""
        self.t += 1
        if self.fault is not None and (self.episode, self.t) == self.at:
            self.fault()
        length = self.first if self.episode == 0 else BEFORE + AFTER
        return length is not None and self.t >= length

    def frame(self) -> Any:
        return code_frame(self.t)


def fake_env(clock: Clock) -> Any:
    """A Gymnasium env with a 48x64 render (``rgb_array``) that shows ``clock``."""
    import gymnasium as gym
    import numpy as np

    class FakeEnv(gym.Env[Any, Any]):
        metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": FPS}
        observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        action_space = gym.spaces.Discrete(2)
        render_mode = "rgb_array"

        def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
            super().reset(seed=seed)
            clock.reset()
            return np.zeros(1, np.float32), {}

        def step(self, action: Any) -> Any:
            over = clock.step()
            return np.zeros(1, np.float32), 1.0, over, False, {}

        def render(self) -> Any:
            return clock.frame()

    return FakeEnv()


def run_record_video(folder: Path, fmt: str, fault: Fault, encoder: str) -> None:
    from rlvideo import RecordVideo

    env = fake_env(Clock(fault, (1, BEFORE)))
    env = RecordVideo(env, str(folder), episode_trigger=lambda e: True, format=fmt, encoder=encoder)
    fault.wrapper = env if encoder == "thread" else None
    try:
        for episode in range(2):
            env.reset(seed=episode)
            done = False
            while not done:
                _, _, terminated, truncated, _ = env.step(0)
                done = terminated or truncated
    finally:
        env.close()


def run_vector(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    import gymnasium as gym
    import numpy as np

    from rlvideo.wrappers.vector import RecordVideo

    first, second = Clock(fault, (1, BEFORE)), Clock(None, (0, 0))
    envs = gym.vector.SyncVectorEnv([lambda: fake_env(first), lambda: fake_env(second)])
    envs = RecordVideo(envs, str(folder), episode_trigger=lambda e: True, format=fmt)
    try:
        envs.reset(seed=0)
        for _ in range(10 + 1 + BEFORE + AFTER - 1):  # episode 0, the autoreset, episode 1
            envs.step(np.zeros(2, np.int64))
    finally:
        envs.close()


def run_sb3(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    import numpy as np
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    clock = Clock(fault, (0, 41 + BEFORE), first=None)
    venv = DummyVecEnv([lambda: fake_env(clock)])
    venv = VecVideoRecorder(
        venv, str(folder), record_video_trigger=lambda s: s in (0, 41), video_length=40,
        format=fmt,
    )  # fmt: skip
    try:
        venv.reset()
        for _ in range(41 + BEFORE + AFTER):
            venv.step(np.zeros(1, np.int64))
    finally:
        venv.close()


def fake_parallel_env(clock: Clock) -> Any:
    """A PettingZoo parallel env of two agents with a 48x64 render that shows ``clock``."""
    import gymnasium as gym
    from pettingzoo import ParallelEnv

    class FakeParallelEnv(ParallelEnv[str, int, int]):
        metadata: ClassVar[dict[str, Any]] = {
            "render_modes": ["rgb_array"],
            "render_fps": FPS,
            "name": "fake_v0",
        }
        possible_agents: ClassVar[list[str]] = ["a", "b"]
        render_mode = "rgb_array"

        def observation_space(self, agent: str) -> Any:
            return gym.spaces.Discrete(1)

        def action_space(self, agent: str) -> Any:
            return gym.spaces.Discrete(2)

        def reset(self, seed: int | None = None, options: Any = None) -> Any:
            clock.reset()
            self.agents = list(self.possible_agents)
            return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

        def step(self, actions: Any) -> Any:
            over = clock.step()
            agents, everyone = self.agents, {a: over for a in self.agents}
            if over:
                self.agents = []
            return (
                {a: 0 for a in agents}, {a: 1.0 for a in agents}, everyone,
                {a: False for a in agents}, {a: {} for a in agents},
            )  # fmt: skip

        def render(self) -> Any:
            return clock.frame()

    return FakeParallelEnv()


def run_pettingzoo(folder: Path, fmt: str, fault: Callable[[], None]) -> None:
    from rlvideo.wrappers.pettingzoo import RecordVideo

    env = RecordVideo(
        fake_parallel_env(Clock(fault, (1, BEFORE))), str(folder),
        episode_trigger=lambda e: True, format=fmt,
    )  # fmt: skip
    try:
        for episode in range(2):
            env.reset(seed=episode)
            while env.agents:
                env.step({agent: 0 for agent in env.agents})
    finally:
        env.close()


RUNNERS: dict[str, Callable[[Path, str, Fault], None]] = {
    "save_video": run_save_video,
    "save_video_steps": run_save_video_steps,
    "VideoWriter": run_video_writer,
    "RecordVideo-process": lambda *a: run_record_video(*a, encoder="process"),
    "RecordVideo-thread": lambda *a: run_record_video(*a, encoder="thread"),
    "vector": run_vector,
    "sb3": run_sb3,
    "pettingzoo": run_pettingzoo,
}

SITECUSTOMIZE = f"""
import os
if os.environ.get("{FULL_DISK_ENV}"):  # the encoder process fills the disk as its parent would
    from tests.helpers import fill_disk_after
    fill_disk_after(int(os.environ["{FULL_DISK_ENV}"]))
"""


def run_cell(writer: str, fmt: str, fault: str, cell: Path) -> None:
    """Run one cell (in a fork); its outcome goes to ``cell/outcome.json``."""
    plan, outcome = PLANS[writer], cell / "outcome.json"
    if fault == "full_disk":
        fill_disk_after(plan.encoded_before)
        site = cell / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
        os.environ[FULL_DISK_ENV] = str(plan.encoded_before)
    try:
        RUNNERS[writer](cell / "videos", fmt, Fault(fault, plan, cell / "videos", fmt, outcome))
        result: dict[str, Any] = {"raised": None}
    except BaseException as exc:
        result = {"raised": type(exc).__name__, "message": str(exc)}
        traceback.print_exc()
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the disk has room again
    outcome.write_text(json.dumps(result))


def serve(cells_file: str) -> None:
    """The child: run each cell of ``cells_file`` in a fork, print each one's exit status."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: orphaned encoders come to us
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    import gymnasium  # noqa: F401 (imported once, before the forks)
    import pettingzoo  # noqa: F401

    import rlvideo.io.writer
    import rlvideo.wrappers.pettingzoo
    import rlvideo.wrappers.vector

    if HAS_SB3:
        import rlvideo.wrappers.sb3  # noqa: F401
    for writer, fmt, fault, cell in json.loads(Path(cells_file).read_text()):
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.setpgid(0, 0)
                run_cell(writer, fmt, fault, Path(cell))
                status = 0
            finally:
                sys.stderr.flush()
                os._exit(status)
        status = reap(pid)
        seconds = round(time.monotonic() - started, 2)
        sys.stdout.write(json.dumps({"cell": cell, "status": status, "seconds": seconds}) + "\n")
        sys.stdout.flush()


def reap(pid: int, timeout: float = 120) -> int | str:
    """Wait for the cell ``pid`` and every process it left (its encoder); its exit status."""
    deadline, status = time.monotonic() + timeout, None
    while True:
        try:
            done, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if done == pid:
            status = os.waitstatus_to_exitcode(code)
        elif done == 0:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                status = status if status is not None else "timeout"
            time.sleep(0.005)
    return "lost" if status is None else status


# -- the tests, which read what the cells left -------------------------------------------------
@dataclass(frozen=True)
class CellRun:
    folder: Path
    status: int | str
    outcome: dict[str, Any]
    log: str


@pytest.fixture(scope="module")
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str, str], CellRun]:
    """Run every selected cell, in one child process; each cell's folder and outcome."""
    wanted = [
        tuple(item.callspec.params[name] for name in ("writer", "fmt", "fault"))
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_fault_matrix"
        and Path(str(item.path)) == Path(__file__)
    ]
    wanted = [cell for cell in wanted if cell[0] != "sb3" or HAS_SB3]
    root = tmp_path_factory.mktemp("matrix")
    dirs = {cell: root / "-".join(cell) for cell in wanted}
    for path in dirs.values():
        path.mkdir()
    cells_file = root / "cells.json"
    cells_file.write_text(json.dumps([[*cell, str(path)] for cell, path in dirs.items()]))
    child = subprocess.run(  # stderr a pipe: a file would meet the full disk's size limit
        [sys.executable, "-c", "import sys; from tests.test_fault_matrix import serve; "
         "serve(sys.argv[1])", str(cells_file)],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    statuses = {Path(r["cell"]): r["status"] for r in map(json.loads, child.stdout.splitlines())}
    runs = {}
    for cell, path in dirs.items():
        outcome_file = path / "outcome.json"
        outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else {}
        status = statuses.get(path, f"never run (child exit {child.returncode})")
        runs[cell] = CellRun(path / "videos", status, outcome, child.stderr[-5000:])
    return runs


def assert_codes(path: Path, first: int, least: int, most: int) -> int:
    """``path`` decodes to ``least``..``most`` frames, frame j drawn as ``first + j``."""
    assert path.exists(), f"{path.name} was not kept"
    video = decode(path)
    assert least <= video.count <= most, f"{path.name}: {video.count} frames, not {least}-{most}"
    got = [code_of(frame) for frame in video.frames]
    expected = [(first + j) % CODES for j in range(video.count)]
    assert got == expected, f"{path.name}: frames {got}, expected {expected}"
    return video.count


def least_kept(plan: Plan, fmt: str, fault: str) -> int:
    """The fewest frames of the faulted video the README lets the fault lose (0: maybe none)."""
    if fault.startswith("ctrl_c"):
        return plan.before  # every frame written
    if fault == "sigkill" and plan.process:  # the encoder process outlives its parent: it keeps
        return plan.before - PROCESS_BATCH  # all but the frames of the batch not yet sent
    return max(plan.before - HELD[fmt], 0)  # what had reached the disk


@pytest.mark.parametrize(("writer", "fmt", "fault"), list(cells()))
def test_fault_matrix(
    writer: str,
    fmt: str,
    fault: str,
    matrix: dict[tuple[str, str, str], CellRun],
    record_property: Callable[[str, object], None],
) -> None:
    if writer == "sb3" and not HAS_SB3:
        pytest.skip("stable-baselines3 is not installed")
    run, plan = matrix[writer, fmt, fault], PLANS[writer]
    folder = run.folder
    if fault == "sigkill":
        assert run.status == -signal.SIGKILL, run
        assert run.outcome == {"killed": True}, run
        from rlvideo.cli import cli

        result = CliRunner().invoke(cli, ["recover", str(folder)])
        assert result.exit_code == 0, result.output
    else:
        assert run.status == 0, run.log
        expected = "StorageError" if fault == "full_disk" else "KeyboardInterrupt"
        assert run.outcome.get("raised") == expected, run.outcome
        if fault == "full_disk":
            assert "no space left: the disk is full" in run.outcome["message"]
    assert hidden(folder) == [], "no hidden file is left"
    if writer == "save_video_steps" and fault == "sigkill" and fmt != "gif":
        # MP4 and WebM clips are encoded once and cut at the end: the kill leaves that one
        # stream, which recover keeps visible from the first clip's first frame
        stream = folder / f"rl-video-step-0.steps.incomplete.{fmt}"
        assert folder_names(folder) == {stream.name}
        total = plan.encoded_before
        count = assert_codes(stream, 1, max(total - HELD[fmt], 1), total)
        record_property("kept", f"{count} of {total} frames")
        return
    for stem, (first, count) in plan.finished.items():  # untouched by the fault
        assert_codes(folder / f"{stem}.{fmt}", first, count, count)
    assert not (folder / f"{plan.faulted}.{fmt}").exists(), "no half video under a final name"
    kept = folder / f"{plan.faulted}.incomplete.{fmt}"
    least = least_kept(plan, fmt, fault)
    finals = {f"{stem}.{fmt}" for stem in plan.finished}
    if least == 0 and not kept.exists():  # none of its frames had reached the disk
        assert folder_names(folder) == finals
        return
    assert folder_names(folder) == finals | {kept.name}
    # Ctrl-C in a hand-off comes at the next batch sent: up to a batch and a frame later
    most = plan.before + (PROCESS_BATCH + 1 if fault == "ctrl_c_handoff" else 0)
    count = assert_codes(kept, plan.first, max(least, 1), most)
    record_property("kept", f"{count} of {plan.before} frames")
