"""The encoder holds back while the env records on a contended machine (issue 22).

:class:`Pacer` is driven here with a fake clock and fake thread times; :meth:`Backlog.hold` with
threads and a condition, never a sleep; and the process worker with a pacer forced to
'contended, recording' (a frozen clock: the env never stops sending), which holds every frame
until the caller's Stop or death. The videos still decode exact.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil
import pytest

from rlvideo._core.spec import WriterSpec
from rlvideo.recording import _transport
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._pacing import Pacer, thread_times
from rlvideo.recording._worker import Backlog
from tests.helpers import decode, folder_names
from tests.test_backlog import FRAMES, SHAPE, TRAINER, assert_shades, frame, run_killed_trainer

MS = 1_000_000  # ns


class Fake:
    """A clock and thread times that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.ran = 0
        self.waited = 0
        self.reads = 0

    def clock(self) -> float:
        return self.now

    def times(self) -> tuple[int, int]:
        self.reads += 1
        return self.ran, self.waited

    def run(self, ran_ms: float, waited_ms: float, seconds: float = 0.1) -> None:
        self.ran += int(ran_ms * MS)
        self.waited += int(waited_ms * MS)
        self.now += seconds


def pacer_on(fake: Fake, **kwargs: float) -> Pacer:
    return Pacer(times=fake.times, clock=fake.clock, **kwargs)  # type: ignore[arg-type]


def contended(fake: Fake) -> Pacer:
    """A pacer whose first window found the machine contended, a frame just arrived."""
    pacer = pacer_on(fake)
    pacer.measure()  # the window starts
    fake.run(250, 250)  # as much time waiting for a CPU as on one
    assert pacer.measure() is True
    pacer.arrived()
    return pacer


BUDGET = 1000


# -- the rule -------------------------------------------------------------------------------------
def test_an_idle_machine_never_holds_back() -> None:
    fake = Fake()
    pacer = pacer_on(fake)
    pacer.measure()
    fake.run(250, 12.5)  # 5% waiting: env and encoder each have a core
    assert pacer.measure() is False
    pacer.arrived()
    assert pacer.wait(100, 100, BUDGET) == 0.0
    assert pacer.last_ratio == pytest.approx(0.05)


def test_contended_and_recording_holds_back_until_the_env_stops_sending() -> None:
    fake = Fake()
    pacer = contended(fake)
    assert pacer.wait(100, 100, BUDGET) == pytest.approx(pacer.quiet)
    fake.now += pacer.quiet / 2
    assert pacer.wait(100, 100, BUDGET) == pytest.approx(pacer.quiet / 2)  # the rest of it
    fake.now += pacer.quiet  # no frame since: between episodes, waiting on a result, close()
    assert pacer.wait(100, 100, BUDGET) == 0.0
    pacer.arrived()  # the next recorded episode
    assert pacer.wait(100, 100, BUDGET) > 0


def test_the_high_water_mark_lets_the_encoder_keep_pace() -> None:
    fake = Fake()
    pacer = contended(fake)
    assert pacer.wait(800, 100, BUDGET) > 0  # room for one more below 90%
    assert pacer.wait(801, 100, BUDGET) == 0.0
    assert pacer.wait(950, 100, BUDGET) == 0.0


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_of_zero_never_holds_back(budget: int) -> None:
    pacer = contended(Fake())
    assert pacer.wait(0, 100, budget) == 0.0


def test_the_callers_end_and_a_waiting_reader_mean_full_pace() -> None:
    pacer = contended(Fake())
    assert pacer.wait(100, 100, BUDGET, ended=True) == 0.0
    assert pacer.wait(100, 100, BUDGET, reader_waiting=True) == 0.0


def test_a_verdict_needs_a_window_of_cpu_time_and_stands_between_windows() -> None:
    fake = Fake()
    pacer = pacer_on(fake, window=0.05)
    pacer.measure()
    fake.run(30, 300)  # only 30 ms on a CPU: no verdict yet
    assert pacer.measure() is False
    fake.run(30, 0)  # 60 ms in all, 300 ms waiting
    assert pacer.measure() is True
    fake.run(1, 0)  # holding back: hardly running, the verdict stands
    assert pacer.measure() is True
    fake.run(60, 1)  # a new window on an idle machine
    assert pacer.measure() is False


def test_a_contended_verdict_expires_and_a_new_window_judges_again() -> None:
    """One window found contention; after ``verdict_for`` seconds the encoder encodes again
    (not contended) until a new window says what the machine is now."""
    fake = Fake()
    pacer = contended(fake)
    fake.now += pacer.verdict_for / 2
    assert pacer.measure() is True  # the verdict stands: held back
    fake.now += pacer.verdict_for  # expired
    assert pacer.measure() is False  # encode, and measure a fresh window
    fake.run(250, 10)  # the machine is idle now
    assert pacer.measure() is False
    assert pacer.last_ratio == pytest.approx(0.04)
    fake.run(250, 250)  # busy again
    assert pacer.measure() is True


def test_the_times_are_read_a_few_times_a_window_not_per_frame() -> None:
    fake = Fake()
    pacer = pacer_on(fake, window=0.05)
    for _ in range(100):  # 100 frames within a millisecond of wall time
        pacer.measure()
        fake.now += 0.00001
    assert fake.reads == 1


def test_unknown_times_never_hold_back() -> None:
    fake = Fake()
    pacer = Pacer(times=lambda: None, clock=fake.clock)
    assert pacer.measure() is False
    pacer.contended = True  # whatever it was told
    pacer.arrived()
    assert pacer.wait(100, 100, BUDGET) == 0.0
    assert pacer.enabled is False


def test_disabled_never_holds_back() -> None:
    fake = Fake()
    pacer = pacer_on(fake)
    pacer.enabled = False
    pacer.contended = True
    pacer.arrived()
    assert pacer.wait(100, 100, BUDGET) == 0.0
    assert pacer.measure() is False
    assert fake.reads == 0


def test_the_switch_for_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvideo.recording import _worker

    monkeypatch.setenv("RLVIDEO_PACING", "0")
    assert _worker.make_pacer().enabled is False
    monkeypatch.delenv("RLVIDEO_PACING")
    assert _worker.make_pacer().enabled is True


@pytest.mark.skipif(not Path("/proc/thread-self/schedstat").exists(), reason="Linux schedstat")
def test_thread_times_reads_this_threads_schedstat() -> None:
    times = thread_times()
    assert times is not None
    ran, waited = times
    assert ran > 0
    assert waited >= 0


def test_thread_times_is_none_where_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvideo.recording import _pacing

    monkeypatch.setattr(_pacing, "SCHEDSTAT", "/nonexistent/schedstat")
    assert thread_times() is None


# -- Backlog.hold ---------------------------------------------------------------------------------
def holding(backlog: Backlog, wake_above: float) -> threading.Thread:
    """A thread holding back for up to a minute (the watchdog: a failure, not a hang)."""
    thread = threading.Thread(target=backlog.hold, args=(60.0, wake_above), daemon=True)
    thread.start()
    return thread


def assert_woken(thread: threading.Thread) -> None:
    thread.join(timeout=30)
    assert not thread.is_alive(), "the encoder was not woken"


def test_hold_returns_at_once_when_nothing_is_to_wait_for() -> None:
    backlog = Backlog(budget=1000)
    backlog.put("frame", 600)  # type: ignore[arg-type]
    backlog.hold(60.0, wake_above=500)  # over the mark already: returns at once
    backlog.put(None)
    backlog.hold(60.0)  # the end was put


def test_hold_wakes_when_the_mark_is_passed() -> None:
    backlog = Backlog(budget=1000)
    thread = holding(backlog, wake_above=250)
    for _ in range(3):
        backlog.put("frame", 100)  # type: ignore[arg-type]
    assert_woken(thread)


def test_hold_wakes_at_the_end() -> None:
    backlog = Backlog(budget=1000)
    thread = holding(backlog, wake_above=1e9)
    backlog.put(None)
    assert_woken(thread)
    assert backlog.ended


def test_hold_wakes_when_the_reader_waits_for_room() -> None:
    backlog = Backlog(budget=100)
    backlog.put("frame", 100)  # type: ignore[arg-type]
    thread = holding(backlog, wake_above=1e9)
    reader = threading.Thread(target=backlog.wait_for_room, args=(100,), daemon=True)
    reader.start()
    assert_woken(thread)
    backlog.done(100)  # the encoder made room
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert not backlog.waiting


# -- the process worker, forced to hold back ------------------------------------------------------
def pace_code(log: Path, recording: Path) -> str:
    """Worker-side code: contended, and the env recording while the file ``recording`` exists
    (the clock stands still until the test deletes it, then jumps far ahead). Each frame
    encoded writes a letter to ``log``: E once the caller ended, H while the caller waits for
    its videos (:class:`Hurry`), R while the env still records, Q after."""
    return (
        "import os, rlvideo.recording._worker as _w, rlvideo.recording._pacing as _p\n"
        f"_flag = {str(recording)!r}\n"
        "def _clock():\n"
        "    return 0.0 if os.path.exists(_flag) else 1e9\n"
        "def _forced():\n"
        "    pacer = _p.Pacer(times=lambda: (0, 0), clock=_clock)\n"
        "    pacer.contended = True\n"
        "    return pacer\n"
        "_w.make_pacer = _forced\n"
        "_pace = _w._pace\n"
        "def _logged(pacer, backlog, nbytes):\n"
        "    _pace(pacer, backlog, nbytes)\n"
        "    letter = 'E' if backlog.ended else 'H' if backlog.hurry else "
        "'R' if os.path.exists(_flag) else 'Q'\n"
        f"    with open({str(log)!r}, 'a') as f: f.write(letter)\n"
        "_w._pace = _logged\n"
    )


class Forced:
    """Paths of a process worker that holds back (:func:`pace_code`)."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "encoded.txt"
        self.recording = folder / "recording"
        self.recording.touch()

    def letters(self) -> str:
        return self.log.read_text()


@pytest.fixture
def forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Forced:
    """The process worker holds back while the env records (:func:`pace_code`)."""
    paths = Forced(tmp_path)
    start_worker = _transport._worker_command

    def paced(connection: int, tracker: int | None) -> list[str]:
        python, flag, code = start_worker(connection, tracker)
        return [python, flag, pace_code(paths.log, paths.recording) + code]

    monkeypatch.setattr(_transport, "_worker_command", paced)
    return paths


def test_a_contended_worker_holds_every_frame_while_the_env_records(
    tmp_path: Path, forced: Forced
) -> None:
    """Nothing is encoded while the env sends; once it stops (here before close(), which
    waits on the results) the encoder drains at full pace, every frame exact."""
    results: list = []
    encoder = BackgroundEncoder(kind="process", on_done=results.append)
    encoder.start()
    encoder.open_video(1, tmp_path / "v.mp4", WriterSpec.build(format="mp4", fps=30))
    for i in range(FRAMES):
        encoder.write(1, frame(i))
    encoder.flush()
    while len(encoder._free) < encoder.slots:  # every frame left the ring: all held back
        encoder._receive(block=True)
    assert not forced.log.exists()  # none encoded while the env was sending
    forced.recording.unlink()  # the env stops sending
    encoder.close_video(1)
    encoder.shutdown()  # returns: close() drains at full pace
    assert [(r.frames, r.error) for r in results] == [(FRAMES, None)]
    assert "R" not in forced.letters()
    assert len(forced.letters()) == FRAMES
    decoded = decode(tmp_path / "v.mp4")
    assert decoded.count == FRAMES
    assert all(f.shape == SHAPE for f in decoded.frames)
    assert_shades(tmp_path / "v.mp4", FRAMES)


def test_a_caller_waiting_for_its_videos_is_not_kept_waiting(
    tmp_path: Path, forced: Forced
) -> None:
    """``wait()`` (under ``close()``) tells the worker to hurry: the held frames are encoded
    at once though the pacer still says 'contended, recording', and the next frame the env
    sends ends the hurry (its frames are held again)."""
    results: list = []
    encoder = BackgroundEncoder(kind="process", on_done=results.append)
    encoder.start()
    spec = WriterSpec.build(format="mp4", fps=30)
    encoder.open_video(1, tmp_path / "v.mp4", spec)
    for i in range(FRAMES):
        encoder.write(1, frame(i))
    encoder.close_video(1)
    waiting = threading.Thread(target=encoder.wait, daemon=True)
    waiting.start()
    waiting.join(timeout=120)  # without the hurry the worker holds them for ever
    assert not waiting.is_alive(), "wait() was kept waiting by a worker holding back"
    assert [(r.frames, r.error) for r in results] == [(FRAMES, None)]
    assert forced.letters() == "H" * FRAMES
    assert_shades(tmp_path / "v.mp4", FRAMES)

    encoder.open_video(2, tmp_path / "w.mp4", spec)  # the env records again
    for i in range(10):
        encoder.write(2, frame(i))
    encoder.flush()
    while len(encoder._free) < encoder.slots:  # every frame left the ring: all held back
        encoder._receive(block=True)
    assert forced.letters() == "H" * FRAMES  # none of video 2's encoded yet
    forced.recording.unlink()
    encoder.close_video(2)
    encoder.shutdown()
    assert [(r.frames, r.error) for r in results][1:] == [(10, None)]
    assert_shades(tmp_path / "w.mp4", 10)


def test_hurry_ends_with_the_next_frame_and_wakes_a_held_encoder() -> None:
    from rlvideo.recording._messages import Hurry, WriteFrame
    from rlvideo.recording._worker import _Reader

    backlog = Backlog(budget=1000)
    reader = _Reader(None, backlog, send=lambda data: None)  # type: ignore[arg-type]
    thread = holding(backlog, wake_above=1e9)
    assert not backlog.drain
    reader._take(Hurry())
    assert_woken(thread)
    assert backlog.hurry
    assert backlog.drain
    backlog.hold(60.0)  # returns at once while the caller waits
    reader._take(WriteFrame(1, 0, (2, 2, 3), None))
    assert not backlog.hurry
    assert not backlog.drain


def test_a_budget_of_zero_is_never_held_back(tmp_path: Path, forced: Forced) -> None:
    results: list = []
    encoder = BackgroundEncoder(kind="process", on_done=results.append, backlog=0)
    encoder.start()
    encoder.open_video(1, tmp_path / "v.mp4", WriterSpec.build(format="mp4", fps=30))
    for i in range(FRAMES):
        encoder.write(1, frame(i))
    # the ring holds 64 and the backlog one: the rest was encoded while the env recorded
    assert forced.letters().count("R") >= FRAMES - encoder.slots - 1
    forced.recording.unlink()
    encoder.close_video(1)
    encoder.shutdown()
    assert [(r.frames, r.error) for r in results] == [(FRAMES, None)]
    assert_shades(tmp_path / "v.mp4", FRAMES)


def test_a_killed_caller_still_gets_its_held_frames_encoded(tmp_path: Path) -> None:
    """Every frame held back when the training process is killed: the worker sees the socket
    close, encodes them all at full pace and keeps the video as ``.incomplete``."""
    folder = tmp_path / "videos"
    folder.mkdir()
    paths = Forced(tmp_path)  # the env records when the caller is killed
    script = TRAINER.format(
        tests=str(Path(__file__).resolve().parents[1]),
        gate_code=pace_code(paths.log, paths.recording),
        shape=SHAPE,
    )
    worker = run_killed_trainer(script, folder, tmp_path / "stderr.txt")
    psutil.wait_procs([worker], timeout=120)
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert folder_names(folder) == {"v.incomplete.mp4"}
    assert paths.letters() == "E" * FRAMES  # held until the end, then all encoded
    assert_shades(folder / "v.incomplete.mp4", FRAMES)
    assert not os.path.exists(folder / "v.mp4")
