"""The hand-off between the env loop and the background encoder, under Ctrl-C and kills.

Every fault is injected at a chosen point, never timed: a Ctrl-C is a real SIGINT raised by
``signal.raise_signal`` inside a wrapped socket call (after the bytes went out, or after they
came in), or a KeyboardInterrupt raised by the call itself (the way an interrupted system call
raises it). Each test decodes what was written with PyAV and checks it frame by frame: every
frame handed over is in the video once, in order, and a frame whose ``write`` raised is not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import psutil
import pytest

from rlvideo._core.spec import WriterSpec
from rlvideo.recording import _interrupts, _messages, _transport
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._messages import VideoResult
from tests.helpers import decode, folder_names

PYTHON = sys.executable
SHADES = 40  # frames with distinct shades


def shade(i: int) -> int:
    """The grey level of frame ``i``: distinct for i < SHADES, far apart for a lossy codec."""
    return 16 + 5 * i


def frame(i: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    return np.full((48, 64, 3), shade(i), np.uint8)


def shades_of(path: Path) -> list[int]:
    """The index of each decoded frame (by its shade), in order."""
    found = []
    for pixels in decode(path).frames:
        mean = float(pixels.mean())
        index = round((mean - 16) / 5)
        assert abs(mean - shade(index)) < 2, f"{path.name}: a frame of shade {mean:.1f}"
        found.append(index)
    return found


def attempt(call: Callable[[], object]) -> bool:
    """Run ``call``; False if a Ctrl-C (KeyboardInterrupt) came out of it."""
    try:
        call()
    except KeyboardInterrupt:
        return False
    return True


def finish(encoder: BackgroundEncoder) -> None:
    """Shut the encoder down, again after each Ctrl-C (as a user would, pressing on)."""
    for _ in range(10):
        if attempt(lambda: encoder.shutdown()):
            return
    pytest.fail("shutdown() was interrupted 10 times")


@pytest.fixture(autouse=True)
def no_ctrl_c_left_held() -> Iterator[None]:
    """After each test, nothing is held back and Ctrl-C has its own handler again."""
    yield
    gate = _interrupts._INTERRUPTS
    assert (gate._depth, gate._handler, gate._caught, gate._waiting) == (0, None, [], False)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- the mechanism: Ctrl-C held back in a block, let through while it waits ----------------------
GATE = _interrupts.deferred_interrupts()


def test_a_ctrl_c_in_a_block_comes_out_at_its_end() -> None:
    done = []

    def block() -> None:
        with GATE:
            signal.raise_signal(signal.SIGINT)
            done.append("the step")  # not cut in two
            with GATE:  # nested: the outermost delivers
                done.append("the inner step")
            done.append("the bookkeeping")

    with pytest.raises(KeyboardInterrupt):
        block()
    assert done == ["the step", "the inner step", "the bookkeeping"]


def test_a_wait_in_a_block_lets_ctrl_c_through_and_a_block_in_it_holds_it_again() -> None:
    done = []

    def wait() -> None:
        signal.raise_signal(signal.SIGINT)
        done.append("waited on")  # never: the Ctrl-C goes through at once

    def waiting_block() -> None:
        with GATE:
            GATE.let_through(wait)

    with pytest.raises(KeyboardInterrupt):
        waiting_block()
    assert done == []

    def callback() -> None:  # e.g. on_done calling back into the encoder
        with GATE:
            signal.raise_signal(signal.SIGINT)
            done.append("the callback's step")

    def calling_block() -> None:
        with GATE:
            GATE.let_through(callback, held_first=False)
            done.append("after the callback")

    with pytest.raises(KeyboardInterrupt):
        calling_block()
    assert done == ["the callback's step", "after the callback"]


def test_a_checkpoint_raises_a_held_ctrl_c_before_the_commit() -> None:
    committed = []

    def commit() -> None:
        with GATE:
            signal.raise_signal(signal.SIGINT)
            GATE.checkpoint()
            committed.append(1)

    with pytest.raises(KeyboardInterrupt):
        commit()
    assert committed == []


def test_a_handler_of_the_users_own_runs_once_per_ctrl_c_after_the_block() -> None:
    calls: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with GATE:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert calls == []
        assert calls == [signal.SIGINT, signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is not _interrupts._INTERRUPTS._hold_signal
    finally:
        signal.signal(signal.SIGINT, previous)


# -- the faults: a socket (or poller) whose n-th call fails once ---------------------------------
class Fault:
    """Where and how the hand-off is interrupted, once.

    Args:
        call: Which call: ``"send"`` (``send``/``sendall``), ``"recv"``, ``"wait"`` or
            ``"queue"`` (a frame committed to the hand-off, not yet sent).
        how: ``"raise"``: the call raises KeyboardInterrupt and does nothing (an interrupted
            system call); ``"signal"``: the call does its work, then a real SIGINT arrives
            (before the caller has noted what the call did); ``"partial"``: a send sends only
            the first 7 bytes (mid-record), then a SIGINT arrives.
        at: The call to fail (1: the first).
    """

    def __init__(self, call: str, how: str, at: int) -> None:
        self.call, self.how, self.at = call, how, at
        self.seen = 0
        self.fired = False

    def __repr__(self) -> str:
        return f"{self.call}-{self.how}-{self.at}"

    def due(self, call: str) -> bool:
        if call != self.call or self.fired:
            return False
        self.seen += 1
        self.fired = self.seen == self.at
        return self.fired

    def after(self) -> None:
        signal.raise_signal(signal.SIGINT)  # the Ctrl-C arrives now, a real signal


class FaultySocket:
    """The transport's socket, with one fault injected."""

    def __init__(self, real: socket.socket, fault: Fault) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def send(self, data: Any, *flags: int) -> int:
        if not self._fault.due("send"):
            return self._real.send(data, *flags)
        if self._fault.how == "raise":
            raise KeyboardInterrupt
        sent = self._real.send(bytes(data)[:7] if self._fault.how == "partial" else data, *flags)
        self._fault.after()
        return sent

    def sendall(self, data: Any, *flags: int) -> None:
        if not self._fault.due("send"):
            return self._real.sendall(data, *flags)
        if self._fault.how == "raise":
            raise KeyboardInterrupt
        self._real.sendall(bytes(data)[:7] if self._fault.how == "partial" else data, *flags)
        self._fault.after()
        return None

    def recv(self, size: int, *flags: int) -> bytes:
        if self._fault.how == "raise" and self._fault.due("recv"):
            raise KeyboardInterrupt
        data = self._real.recv(size, *flags)  # counted only when it brings data
        if self._fault.how != "raise" and data and self._fault.due("recv"):
            self._fault.after()
        return data


class FaultyPoller:
    """The transport's poller (its waits for the worker), with one fault injected."""

    def __init__(self, real: Any, fault: Fault) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def poll(self, *timeout: float) -> Any:
        if timeout == (0,) or not self._fault.due("wait"):
            return self._real.poll(*timeout)
        if self._fault.how == "raise":
            raise KeyboardInterrupt
        events = self._real.poll(*timeout)
        self._fault.after()
        return events


def inject(encoder: BackgroundEncoder, fault: Fault) -> None:
    """Put ``fault`` into the started encoder's process transport."""
    transport: Any = encoder._transport
    transport._socket = FaultySocket(transport._socket, fault)
    if fault.call == "queue":  # a Ctrl-C right after a frame is committed to the hand-off
        real_queue = transport.queue

        def queue(message: Any) -> None:
            real_queue(message)
            if isinstance(message, _messages.WriteFrame) and fault.due("queue"):
                fault.after()

        transport.queue = queue
    if fault.call == "wait":
        for name in ("_readable", "_writable"):
            setattr(transport, name, FaultyPoller(getattr(transport, name), fault))


# -- 1. Ctrl-C during the hand-off: every frame once or not at all -------------------------------
FAULTS = [
    *(Fault("send", how, at) for how in ("raise", "signal", "partial") for at in (1, 2, 5)),
    *(Fault("recv", how, at) for how in ("raise", "signal") for at in (1, 3)),
    *(Fault("wait", how, 1) for how in ("raise", "signal")),
]


def write_through(encoder: BackgroundEncoder, path: Path, fault: Fault, frames: int) -> list[int]:
    """Write ``frames`` frames (polling after each, as the wrappers do); the frames given.

    A frame is given when its ``write`` returned; a Ctrl-C out of ``poll`` is pressed on.
    """
    encoder.open_video(1, path, WriterSpec.build(format="mp4", fps=30))
    inject(encoder, fault)
    given = []
    for i in range(frames):
        if attempt(lambda i=i: encoder.write(1, frame(i))):  # type: ignore[misc]
            given.append(i)
        attempt(encoder.poll)
    attempt(lambda: encoder.close_video(1))
    while not attempt(encoder.wait):
        pass
    # every slot came back: a reply lost to a Ctrl-C would leave its slots taken for good
    assert sorted(encoder._free) == list(range(encoder.slots))
    rings = [ring.name for ring in encoder._transport.rings]  # type: ignore[union-attr]
    finish(encoder)
    assert rings
    assert [name for name in rings if shm(name).exists()] == []  # none left in /dev/shm
    return given


@pytest.mark.parametrize("fault", FAULTS, ids=repr)
def test_ctrl_c_in_the_hand_off_sends_each_frame_once(tmp_path: Path, fault: Fault) -> None:
    results: list[VideoResult] = []
    encoder = BackgroundEncoder(kind="process", slots=8, on_done=results.append)
    path = tmp_path / "v.mp4"
    given = write_through(encoder, path, fault, SHADES)
    assert fault.fired, f"{fault} was never reached: the test would prove nothing"
    assert shades_of(path) == given  # once each, in order: no duplicate, no torn record
    assert len(given) >= SHADES - 1  # at most the interrupted frame is not given
    assert [(r.path, r.frames, r.error) for r in results] == [(path, len(given), None)]
    assert folder_names(tmp_path) == {"v.mp4"}


class FaultyReplies(deque):  # type: ignore[type-arg]
    """The thread transport's replies: the n-th taken, then a real SIGINT arrives."""

    def __init__(self, replies: deque[Any], fault: Fault) -> None:
        super().__init__(replies)
        self._fault = fault

    def popleft(self) -> Any:
        reply = super().popleft()
        if self._fault.due("recv"):
            self._fault.after()
        return reply


THREAD_FAULTS = [Fault("recv", "signal", at) for at in (1, 4, 9)] + [
    Fault("wait", how, at) for how in ("raise", "signal") for at in (1, 2)
]


@pytest.mark.parametrize("fault", THREAD_FAULTS, ids=repr)
def test_ctrl_c_in_the_thread_hand_off_loses_no_reply(tmp_path: Path, fault: Fault) -> None:
    """The thread transport: a reply taken is acted on, a wait interrupted changes nothing."""
    results: list[VideoResult] = []
    encoder = BackgroundEncoder(kind="thread", slots=2, on_done=results.append)
    path = tmp_path / "v.mp4"
    encoder.open_video(1, path, WriterSpec.build(format="mp4", fps=30))
    transport: Any = encoder._transport
    if fault.call == "recv":
        transport._replies = FaultyReplies(transport._replies, fault)
    else:
        real_wait = transport._wait

        def wait() -> None:
            if fault.due("wait") and fault.how == "raise":
                raise KeyboardInterrupt
            real_wait()
            if fault.fired and fault.how == "signal":
                fault.how = "done"
                fault.after()

        transport._wait = wait
    given = []
    for i in range(SHADES):  # 2 slots: the caller waits for the worker again and again
        if attempt(lambda i=i: encoder.write(1, frame(i))):  # type: ignore[misc]
            given.append(i)
    attempt(lambda: encoder.close_video(1))
    while not attempt(encoder.wait):
        pass
    assert sorted(encoder._free) == list(range(encoder.slots))
    finish(encoder)
    assert fault.fired, f"{fault} was never reached: the test would prove nothing"
    assert shades_of(path) == given
    assert len(given) >= SHADES - 1
    assert [(r.path, r.frames, r.error) for r in results] == [(path, len(given), None)]


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_a_caller_counting_in_a_deferred_block_agrees_with_the_video(
    tmp_path: Path, kind: str
) -> None:
    """A Ctrl-C while a frame is being committed comes out after the caller's own count.

    ``write`` alone cannot say whether a Ctrl-C that lands as it returns came before or after
    its frame was handed over; a caller that counts frames (the recorder: its data track, its
    sidecar) holds ``deferred_interrupts()`` around the write and the count.
    """
    encoder = BackgroundEncoder(kind=kind, slots=8)  # type: ignore[arg-type]
    path = tmp_path / "v.mp4"
    encoder.open_video(1, path, WriterSpec.build(format="mp4", fps=30))
    transport: Any = encoder._transport
    real_queue = transport.queue
    fault = Fault("queue", "signal", 5)

    def queue(message: Any) -> None:
        real_queue(message)  # committed: the frame is handed over
        if isinstance(message, _messages.WriteFrame) and fault.due("queue"):
            fault.after()  # and now the Ctrl-C

    transport.queue = queue
    counted, interrupted = [], []
    for i in range(SHADES):
        try:
            with _interrupts.deferred_interrupts():
                encoder.write(1, frame(i))
                counted.append(i)
        except KeyboardInterrupt:
            interrupted.append(i)
    finish(encoder)
    assert interrupted == [4]  # the fifth frame's Ctrl-C came out after its count
    assert shades_of(path) == counted == list(range(SHADES))


# -- the recorder and its data track: what a wrapper writes after a Ctrl-C -------------------------
class Shades(gym.Env[Any, Any]):
    """An env whose frame after step k (k steps since reset) shows shade(k)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)
    render_mode = "rgb_array"

    def __init__(self) -> None:
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.steps = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> Any:
        self.steps += 1
        return np.zeros(1, np.float32), 1.0, False, False, {}

    def render(self) -> Any:
        return frame(self.steps)


WRAPPER_FAULTS = [
    Fault("send", "raise", 1), Fault("send", "signal", 1), Fault("send", "partial", 2),
    Fault("recv", "signal", 1), Fault("recv", "raise", 2), Fault("queue", "signal", 3),
]  # fmt: skip


@pytest.mark.parametrize("fault", WRAPPER_FAULTS, ids=repr)
def test_ctrl_c_in_record_video_keeps_video_sidecar_and_track_agreeing(
    tmp_path: Path, fault: Fault
) -> None:
    from rlvideo import RecordVideo

    env = RecordVideo(
        Shades(), str(tmp_path), episode_trigger=lambda e: True, encoder="process",
        track=True, metadata=True,
    )  # fmt: skip
    env.reset(seed=0)
    inject(env._recorder._encoder, fault)
    returned = [0]  # the steps whose call returned: their frames are in the video
    for k in range(1, SHADES):
        if attempt(lambda: env.step(0)):
            returned.append(k)
    for _ in range(10):  # a Ctrl-C may land in close() too (the worker's replies come late)
        if attempt(env.close):
            break
    assert fault.fired, f"{fault} was never reached: the test would prove nothing"
    shown = shades_of(tmp_path / "rl-video-episode-0.mp4")
    assert shown == sorted(set(shown)), "a frame twice, or out of order"
    assert set(returned) <= set(shown) <= set(range(SHADES))
    sidecar = json.loads((tmp_path / "rl-video-episode-0.json").read_text())
    track = (tmp_path / "rl-video-episode-0.track.jsonl").read_text().splitlines()
    assert sidecar["frames"] == len(track) == len(shown)
    assert [json.loads(line)["step"] for line in track] == shown  # line by line, frame by frame
    assert sidecar["steps"] == SHADES - 1
    assert folder_names(tmp_path) == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.json", "rl-video-episode-0.track.jsonl"
    }  # fmt: skip


# -- 4. the caller killed while its worker still starts: the ring outlives it, then goes -------
TRAINER = """
    import os, signal, sys
    import numpy as np
    import psutil
    from rlvideo.recording import _transport
    from rlvideo.recording._encoder import BackgroundEncoder
    from rlvideo._core.spec import WriterSpec

    folder, gate, frames, grow = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "grow"
    start_worker = _transport._worker_command

    def gated(connection, tracker):  # the worker waits for the test to open the gate (a FIFO)
        python, flag, code = start_worker(connection, tracker)
        return [python, flag, f"open({gate!r}).close(); {code}"]

    if gate != "-":
        _transport._worker_command = gated
    spec = WriterSpec.build(format="mp4", fps=30)
    encoder = BackgroundEncoder(kind="process", slots=8)
    encoder.open_video(1, os.path.join(folder, "v.mp4"), spec)
    rings, video, size = [], 1, 48
    for i in range(frames):
        if grow and i == frames // 2:  # a second video of bigger frames: a new ring
            encoder.close_video(1)
            video, size = 2, 96
            encoder.open_video(2, os.path.join(folder, "w.mp4"), spec)
        encoder.write(video, np.full((size, 64, 3), 16 + 5 * i, np.uint8))
        if encoder._ring.name not in rings:
            rings.append(encoder._ring.name)
    encoder.flush()  # every frame is handed over
    print(" ".join(rings), flush=True)
    print(" ".join(str(p.pid) for p in psutil.Process().children()), flush=True)
    if sys.argv[5] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    encoder.close_video(video)
    encoder.shutdown()
"""


def tracker_of(pids: list[int]) -> psutil.Process:
    """The resource tracker among the caller's children."""
    for pid in pids:
        process = psutil.Process(pid)
        if "resource_tracker" in " ".join(process.cmdline()):
            return process
    raise AssertionError(f"no resource tracker among {pids}")


def holds_the_pipe_of(worker: psutil.Process, tracker: psutil.Process) -> bool:
    """Whether ``worker`` holds the tracker's pipe open (the tracker then waits for it)."""
    (read_end,) = (int(arg.split("main(")[1].rstrip(")")) for arg in tracker.cmdline()
                   if "main(" in arg)  # fmt: skip
    pipe = os.readlink(f"/proc/{tracker.pid}/fd/{read_end}")
    fds = Path(f"/proc/{worker.pid}/fd")
    return any(os.readlink(fd) == pipe for fd in fds.iterdir())


def shm(name: str) -> Path:
    return Path("/dev/shm") / name.lstrip("/")


def run_trainer(tmp_path: Path, *, gated: bool, frames: int, ending: str, grow: bool = False) -> (
    tuple[subprocess.Popen[str], list[str], list[psutil.Process], Path]
):  # fmt: skip
    """Start a trainer child; its rings and children once every frame is handed over."""
    folder = tmp_path / "videos"
    folder.mkdir()
    gate = tmp_path / "gate"
    if gated:
        os.mkfifo(gate)
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(TRAINER), *map(str, (
                folder, gate if gated else "-", frames, "grow" if grow else "-", ending))],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    assert child.stdout is not None
    rings = child.stdout.readline().split()
    children = [psutil.Process(int(pid)) for pid in child.stdout.readline().split()]
    assert rings, log.read_text()
    assert children, log.read_text()
    return child, rings, children, log


def open_gate(tmp_path: Path) -> None:
    with (tmp_path / "gate").open("w"):  # returns once the worker opened it: it goes on
        pass


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm (Linux)")
def test_caller_killed_before_its_worker_attached_loses_no_frame(tmp_path: Path) -> None:
    child, (ring,), children, log = run_trainer(tmp_path, gated=True, frames=8, ending="kill")
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert child.stdout is not None
    child.stdout.close()
    tracker = tracker_of([p.pid for p in children])
    (worker,) = (p for p in children if p.pid != tracker.pid)
    # The forced order: the caller is dead, the worker has not attached the ring yet. Unless
    # the worker holds the tracker's pipe, the tracker now sees the end, unlinks the ring and
    # exits: wait for that before the worker may go on (old code: FileNotFoundError).
    if not holds_the_pipe_of(worker, tracker):
        psutil.wait_procs([tracker], timeout=60)
    assert shm(ring).exists(), "the ring was unlinked before its worker read it"
    open_gate(tmp_path)
    _, alive = psutil.wait_procs([worker, tracker], timeout=120)
    assert not alive, f"still running: {alive}"
    folder = tmp_path / "videos"
    assert folder_names(folder) == {"v.incomplete.mp4"}, log.read_text()
    assert shades_of(folder / "v.incomplete.mp4") == list(range(8))  # every frame handed over
    assert not shm(ring).exists(), "the ring leaked in /dev/shm"
    assert "leaked" not in log.read_text()  # the worker unlinked it: nothing for the tracker


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm (Linux)")
def test_caller_and_worker_both_killed_leak_no_shared_memory(tmp_path: Path) -> None:
    child, (ring,), children, _ = run_trainer(tmp_path, gated=True, frames=8, ending="kill")
    child.wait(timeout=60)
    assert child.stdout is not None
    child.stdout.close()
    tracker = tracker_of([p.pid for p in children])
    (worker,) = (p for p in children if p.pid != tracker.pid)
    worker.kill()  # killed before it ever attached: only the tracker is left to unlink
    _, alive = psutil.wait_procs([worker, tracker], timeout=120)
    assert not alive, f"still running: {alive}"
    assert not shm(ring).exists(), "the ring leaked in /dev/shm"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm (Linux)")
@pytest.mark.parametrize("ending", ["kill", "close"])
def test_every_ring_is_unlinked_once_in_every_ending(tmp_path: Path, ending: str) -> None:
    """Two rings (bigger frames midway), the caller killed or closing: none is left, and the
    resource tracker neither warns of a leak nor fails to unregister one (a traceback)."""
    child, rings, children, log = run_trainer(
        tmp_path, gated=False, frames=16, ending=ending, grow=True
    )
    child.wait(timeout=120)
    assert child.stdout is not None
    child.stdout.close()
    _, alive = psutil.wait_procs(children, timeout=120)
    assert not alive, f"still running: {alive}"
    assert len(rings) == 2
    assert [name for name in rings if shm(name).exists()] == []
    assert log.read_text() == "" or (ending == "kill" and "Traceback" not in log.read_text())
    folder = tmp_path / "videos"
    second = "w.incomplete.mp4" if ending == "kill" else "w.mp4"
    assert folder_names(folder) == {"v.mp4", second}
    assert shades_of(folder / "v.mp4") == list(range(8))
    assert shades_of(folder / second) == list(range(8, 16))


def test_the_worker_imports_the_callers_rlvideo_first(tmp_path: Path) -> None:
    """The worker's path starts with the folder holding this very rlvideo: a checkout whose
    PYTHONPATH is replaced (as the fault matrix does) still runs its own worker code, not an
    installed rlvideo's."""
    import rlvideo

    root = Path(_transport.package_root())
    assert (root / "rlvideo" / "__init__.py").resolve() == Path(rlvideo.__file__).resolve()
    code = "import rlvideo; print(rlvideo.__file__)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])}
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert Path(found).resolve() == Path(rlvideo.__file__).resolve()
