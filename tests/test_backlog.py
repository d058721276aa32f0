"""The encoder process's backlog (issue 22): frames leave the env at memory-copy cost.

The worker's reader thread copies each frame out of its shared-memory slot and frees the slot
at once; the encoder drains the private backlog at its own pace, and the caller waits only when
``backlog`` bytes are held. The encoder is held back here by a gate (a FIFO the worker opens
before it encodes its first frame), never by a sleep: frames the caller wrote while the gate
was shut went through the backlog. A watchdog opens the gate after a minute so that a failure
is a failed assertion, not a hung test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from rlvideo._core.options import recorder_options
from rlvideo._core.spec import WriterSpec
from rlvideo.errors import InvalidArgumentError, RLVideoError, StorageError
from rlvideo.recording import _encoder, _transport
from rlvideo.recording._encoder import MIN_SLOTS, BackgroundEncoder
from rlvideo.recording._messages import AttachRing, SlotFree, WriteFrame, encode, parse
from rlvideo.recording._recorder import Recorder
from rlvideo.recording._transport import reserve_shared_memory
from rlvideo.recording._worker import ENCODER_FRAMES, Backlog, _Reader
from tests.helpers import decode, folder_names

PYTHON = sys.executable
SHAPE = (48, 64, 3)  # 9 KiB: the ring has 256 slots of these
FRAMES = 300  # far more than the ring holds


def shade(i: int) -> int:
    return 16 + (i * 7) % 220


def frame(i: int) -> np.ndarray:
    return np.full(SHAPE, shade(i), np.uint8)


def assert_shades(path: Path, count: int) -> None:
    """Every frame, in order, each its size and (within x264's rounding) its shade."""
    decoded = decode(path)
    assert decoded.count == count
    assert all(f.shape == SHAPE for f in decoded.frames)
    found = [round(float(f.mean())) for f in decoded.frames]
    assert all(abs(a - b) <= 2 for a, b in zip(found, map(shade, range(count)), strict=True))


GATE_CODE = (
    "import rlvideo.recording._worker as _w\n"
    "_handle = _w.Worker.handle\n"
    "_shut = [True]\n"
    "def _gated(self, message):\n"
    "    if _shut and isinstance(message, _w.WriteFrame):\n"
    "        _shut.clear(); open({gate!r}).close()\n"
    "    return _handle(self, message)\n"
    "_w.Worker.handle = _gated\n"
)
"""Worker-side code: the encoder waits at its first frame until the test opens the FIFO."""


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shut gate in front of the worker's encoder (:data:`GATE_CODE`)."""
    path = tmp_path / "gate"
    os.mkfifo(path)
    start_worker = _transport._worker_command

    def gated(connection: int, tracker: int | None) -> list[str]:
        python, flag, code = start_worker(connection, tracker)
        return [python, flag, GATE_CODE.format(gate=str(path)) + code]

    monkeypatch.setattr(_transport, "_worker_command", gated)
    return path


class Watchdog:
    """Opens the gate after ``seconds`` if the test has not: then the test fails, not hangs."""

    def __init__(self, gate: Path, seconds: float = 60) -> None:
        self.fired = False
        self._gate = gate
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(seconds,), daemon=True)
        self._thread.start()

    def _run(self, seconds: float) -> None:
        if not self._opened.wait(seconds):
            self.fired = True
            self.open()

    def open(self) -> None:
        if not self._opened.is_set():
            self._opened.set()
            with self._gate.open("w"):  # returns once the worker opened its end
                pass


def test_close_encodes_a_whole_episode_held_in_the_backlog(tmp_path: Path, gate: Path) -> None:
    """With the encoder held at its first frame, the caller still writes every frame (the
    ring holds 256): they wait in the worker's backlog, and close encodes each, in order."""
    results: list = []
    encoder = BackgroundEncoder(kind="process", on_done=results.append)
    encoder.start()
    watchdog = Watchdog(gate)
    encoder.open_video(1, tmp_path / "v.mp4", WriterSpec.build(format="mp4", fps=30))
    for i in range(FRAMES):
        encoder.write(1, frame(i))
    assert encoder.slots == 256 < FRAMES
    assert not watchdog.fired, "the caller waited for the encoder: no backlog"
    watchdog.open()
    encoder.close_video(1)
    encoder.shutdown()
    assert [(r.frames, r.error) for r in results] == [(FRAMES, None)]
    assert decode(tmp_path / "v.mp4").count == FRAMES
    assert_shades(tmp_path / "v.mp4", FRAMES)


def test_the_budget_bounds_the_backlog_and_then_the_caller_waits(tmp_path: Path) -> None:
    """The reader frees a slot only once its frame fits in the budget: with nobody encoding,
    exactly the budget's frames leave the ring; each frame encoded lets one more in. The open
    video's encoder buffers count too (ENCODER_FRAMES of its frames)."""
    nbytes = int(np.prod(SHAPE))
    budget = (3 + ENCODER_FRAMES) * nbytes
    ring = reserve_shared_memory(10 * nbytes)
    ours, theirs = socket.socketpair()
    ours.settimeout(60)  # a reader that never frees a slot fails the test, not hangs it
    backlog = Backlog(budget=0)
    sending = threading.Lock()

    def send(data: bytes) -> None:
        with sending:
            theirs.sendall(data)

    reader = threading.Thread(target=_Reader(theirs, backlog, send).run, daemon=True)
    reader.start()
    freed: list[int] = []
    inbox = bytearray()

    def freed_until(count: int) -> None:
        while len(freed) < count:
            inbox.extend(ours.recv(1 << 16))
            for reply in parse(inbox):
                assert isinstance(reply, SlotFree)
                freed.extend(reply.slots)

    try:
        for slot in range(10):
            np.ndarray(SHAPE, np.uint8, ring.buf, slot * nbytes)[:] = shade(slot)
        ours.sendall(encode(AttachRing(ring.name, nbytes, reply_every=1, backlog=budget)))
        ours.sendall(b"".join(encode(WriteFrame(1, s, SHAPE, None)) for s in range(10)))
        freed_until(3)
        assert backlog.bytes == 3 * nbytes  # the fourth frame waits in its slot
        assert backlog.held == budget
        for i in range(10):
            message, held = backlog.take()
            assert isinstance(message, WriteFrame)
            assert message.pixels is not None
            assert int(message.pixels[0, 0, 0]) == shade(i)  # a copy, taken in order
            backlog.done(held)
            freed_until(min(10, i + 4))
            assert backlog.bytes <= budget
        assert sorted(freed) == list(range(10))
        assert backlog.peak == budget
    finally:
        ours.close()  # the reader sees the end, ends the backlog and unlinks the ring
        reader.join(timeout=60)
        theirs.close()
        ring.close()
    assert backlog.take() == (None, 0)


def test_a_frame_bigger_than_the_budget_still_passes_alone() -> None:
    backlog = Backlog(budget=10)
    assert backlog.has_room(100)
    backlog.put(None, 100)
    assert not backlog.has_room(1)


# -- /dev/shm: Docker gives 64 MB; the ring is the only shared memory ------------------------------
@pytest.fixture
def small_shm(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """/dev/shm with room for 3 slots of :data:`SHAPE`: bigger reservations fail."""
    room = 3 * int(np.prod(SHAPE))
    asked: list[int] = []

    def reserve(size: int):  # type: ignore[no-untyped-def]
        asked.append(size)
        if size > room:
            raise StorageError(f"cannot reserve {size / 2**20:.1f} MB of shared memory (test)")
        return reserve_shared_memory(size)

    monkeypatch.setattr(_encoder, "reserve_shared_memory", reserve)
    return asked


def test_a_small_dev_shm_gets_a_smaller_ring_and_every_frame(tmp_path: Path, small_shm) -> None:
    results: list = []
    with BackgroundEncoder(kind="process", on_done=results.append) as encoder:
        encoder.open_video(1, tmp_path / "v.mp4", WriterSpec.build(format="mp4", fps=30))
        for i in range(FRAMES):
            encoder.write(1, frame(i))
        assert encoder.slots == MIN_SLOTS
        encoder.close_video(1)
    nbytes = int(np.prod(SHAPE))
    assert small_shm == [nbytes * n for n in (256, 128, 64, 32, 16, 8, 4, 2)]
    assert [(r.frames, r.error) for r in results] == [(FRAMES, None)]
    assert_shades(tmp_path / "v.mp4", FRAMES)


def test_no_room_even_for_the_fewest_slots_raises_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reserve(size: int):  # type: ignore[no-untyped-def]
        raise StorageError(f"cannot reserve {size / 2**20:.2f} MB of shared memory (test)")

    monkeypatch.setattr(_encoder, "reserve_shared_memory", reserve)
    encoder = BackgroundEncoder(kind="process")
    encoder.open_video(1, tmp_path / "v.mp4", WriterSpec.build(format="mp4", fps=30))
    with pytest.raises(StorageError, match=r"cannot reserve 2\.25 MB"):  # 256 slots: the first
        encoder.write(1, frame(0))
    encoder.shutdown(abort=True)


# -- kills ----------------------------------------------------------------------------------------
TRAINER = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {tests!r})
from rlvideo._core.spec import WriterSpec
from rlvideo.recording import _transport
from rlvideo.recording._encoder import BackgroundEncoder

start_worker = _transport._worker_command
def gated(connection, tracker):
    python, flag, code = start_worker(connection, tracker)
    return [python, flag, {gate_code!r} + code]
_transport._worker_command = gated
folder, count = sys.argv[1], int(sys.argv[2])
encoder = BackgroundEncoder(kind="process")
encoder.open_video(1, os.path.join(folder, "v.mp4"), WriterSpec.build(format="mp4", fps=30))
for i in range(count):
    encoder.write(1, np.full({shape!r}, 16 + (i * 7) % 220, np.uint8))
encoder.flush()
while len(encoder._free) < encoder.slots:  # every frame left the ring: all in the backlog
    encoder._receive(block=True)
print(encoder._transport._process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def run_killed_trainer(script: str, folder: Path, log: Path) -> psutil.Process:
    """Run :data:`TRAINER` ``script`` until it kills itself; its worker process, still alive."""
    with log.open("w") as stderr:  # the worker inherits it: no pipe to wait on
        child = subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(script), str(folder), str(FRAMES)],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    assert child.stdout is not None
    pid = child.stdout.readline()
    child.stdout.close()
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL, log.read_text()
    return psutil.Process(int(pid))


def test_frames_in_the_backlog_outlive_a_killed_caller(tmp_path: Path) -> None:
    """The training process is killed with every frame in the backlog, none encoded: the
    worker encodes them all and keeps the video as ``.incomplete``, as the kill path does."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    folder = tmp_path / "videos"
    folder.mkdir()
    script = TRAINER.format(
        tests=str(Path(__file__).resolve().parents[1]),
        gate_code=GATE_CODE.format(gate=str(gate)),
        shape=SHAPE,
    )
    worker = run_killed_trainer(script, folder, tmp_path / "stderr.txt")
    watchdog = Watchdog(gate)
    watchdog.open()
    psutil.wait_procs([worker], timeout=120)
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert folder_names(folder) == {"v.incomplete.mp4"}
    assert_shades(folder / "v.incomplete.mp4", FRAMES)


# -- the option, and the worker started with the recorder -----------------------------------------
def first_encoder(recorder: Recorder) -> BackgroundEncoder:
    """The recorder's (first) encoder, behind a pool of them or not."""
    encoder = recorder._encoder
    return getattr(encoder, "encoders", [encoder])[0]  # type: ignore[no-any-return]


def test_backlog_mb_is_a_recording_option(tmp_path: Path) -> None:
    assert recorder_options("RecordVideo", {})["backlog_mb"] == 256
    recorder = Recorder(
        tmp_path, name_prefix="a", fps=30, env_id=None, encoder="thread", backlog_mb=1.5
    )
    assert first_encoder(recorder).backlog == 3 * 2**19
    recorder.close()
    for bad in (-1, "64", True, float("nan"), float("inf"), None):
        with pytest.raises(InvalidArgumentError, match="backlog_mb must be a number >= 0"):
            Recorder(tmp_path, name_prefix="a", fps=30, env_id=None, backlog_mb=bad)


def test_the_worker_process_starts_with_the_recorder(tmp_path: Path) -> None:
    """Its start-up overlaps the env's, not the first recorded episode; unused, it is gone at
    close without a wait for its imports."""
    recorder = Recorder(tmp_path, name_prefix="a", fps=30, env_id=None)
    transport = first_encoder(recorder)._transport
    assert isinstance(transport, _transport.ProcessTransport)
    process = transport._process
    assert process.poll() is None  # started, before any video
    recorder.close()
    assert process.poll() is not None
    assert folder_names(tmp_path) == set()
    thread_recorder = Recorder(tmp_path, name_prefix="a", fps=30, env_id=None, encoder="thread")
    assert first_encoder(thread_recorder)._transport is None  # a thread starts with its first video
    thread_recorder.close()


# -- the encoder process killed: its backlog is lost, the caller says so, nothing is final -------
def test_a_killed_encoder_process_loses_its_backlog_and_the_caller_says_so(
    tmp_path: Path, gate: Path
) -> None:
    """The worker is SIGKILLed with every frame in its backlog, none encoded (the gate is
    shut): they are lost, as guarantees.md says. The caller's next hand-off raises a clear
    error, and no file, final or half-written, is left behind."""
    folder = tmp_path / "videos"
    folder.mkdir()
    encoder = BackgroundEncoder(kind="process")
    encoder.open_video(1, folder / "v.mp4", WriterSpec.build(format="mp4", fps=30))
    for i in range(FRAMES):
        encoder.write(1, frame(i))
    encoder.flush()
    transport = encoder._transport
    assert isinstance(transport, _transport.ProcessTransport)
    worker = psutil.Process(transport._process.pid)
    worker.kill()  # the gate stays shut: the worker dies holding its backlog
    psutil.wait_procs([worker], timeout=60)

    def go_on() -> None:  # the ring fills: the caller waits for a slot and hears the death
        for i in range(FRAMES, 10 * FRAMES):
            encoder.write(1, frame(i))
        encoder.close_video(1)
        encoder.wait()

    with pytest.raises(RLVideoError, match="the rlvideo encoder process died"):
        go_on()
    with contextlib.suppress(RLVideoError):
        encoder.shutdown(abort=True)
    assert folder_names(folder) == set(), "none was encoded: nothing, not half a video"
    result = subprocess.run(
        [PYTHON, "-m", "rlvideo", "recover", str(folder)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert folder_names(folder) == set()


def test_one_video_at_a_time_drains_on_the_second_thread() -> None:
    """While the worker drains on two threads, only one open video's writer takes the second
    thread (a per-env vector's eight videos would otherwise make nine threads); the next
    one gets it once that video ends."""
    from rlvideo.recording._messages import EndVideo, WriteFrame
    from rlvideo.recording._worker import Worker

    class FakeWriter:
        frames_written = 0

        def __init__(self) -> None:
            self.pipelined: list[bool] = []

        def write_converted(self, array, *, duration=None, pipelined=False) -> None:
            self.pipelined.append(pipelined)

        def close(self) -> Path:
            return Path("done.mp4")

    worker = Worker(lambda reply: None)
    writers = {1: FakeWriter(), 2: FakeWriter()}
    worker._writers = dict(writers)  # type: ignore[assignment]
    pixels = np.zeros(SHAPE, np.uint8)

    def frame_of(video_id: int) -> None:
        worker.handle(WriteFrame(video_id, 0, SHAPE, None, pixels))

    worker.pipelined = True
    frame_of(1), frame_of(2), frame_of(1)
    assert writers[1].pipelined == [True, True]
    assert writers[2].pipelined == [False]
    worker.handle(EndVideo(1, "close"))
    frame_of(2)
    assert writers[2].pipelined == [False, True]
    worker.pipelined = False  # the env records again
    frame_of(2)
    assert writers[2].pipelined == [False, True, False]
