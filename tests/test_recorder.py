"""The recorder under every wrapper: how videos end, and the worker's replies racing the caller."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest

import rlvideo.recording._encoder as encoder_module
from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.spec import WriterSpec
from rlvideo.io.manifest import merge_manifest
from rlvideo.recording import _transport, _worker
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._messages import EndVideo, OpenVideo, VideoResult, WriteFrame
from rlvideo.recording._recorder import ClosesOnExit, Recorder, records
from tests.helpers import decode, folder_names, solid


def _recorder(folder: Path, **overrides) -> Recorder:
    options = {
        "name_prefix": "rl-video", "fps": 30, "format": "mp4", "codec": None, "crf": None,
        "overwrite": False, "metadata": True, "on_video_saved": None, "keep_if": None,
        "encoder": "thread", "env_id": "Test-v0",
    }  # fmt: skip
    options.update(overrides)
    return Recorder(folder, **options)


def _record(recorder: Recorder, name: str, frames: int, *, ended: bool = False) -> int:
    video_id = recorder.start(name, kind="episode", episode=0, first_step=0)
    recorder.frame(video_id, solid(0))
    for i in range(frames - 1):
        recorder.step(video_id, 1.0, ended and i == frames - 2, False)
        recorder.frame(video_id, solid(10 * i))
    return video_id


class _InlineTransport(_transport.Transport):
    """A worker that answers every message before ``send`` returns: the worst-case race."""

    def __init__(self) -> None:
        super().__init__()
        self._replies: deque = deque()
        self._worker = _worker.Worker(self._replies.append)

    def send(self, message):
        self._worker.handle(message)

    def receive(self, *, block):
        return self._replies.popleft() if self._replies else None

    def _stop(self):
        self._worker.abort_all()


@pytest.fixture
def inline_worker(monkeypatch):
    monkeypatch.setattr(encoder_module, "ThreadTransport", _InlineTransport)


# -- issue 9, defect 2: the answer to a discard may arrive before stop() returns ------------------
@pytest.mark.usefixtures("inline_worker")
@pytest.mark.parametrize("why", ["keep_if", "zero frames", "discard"])
def test_a_discard_answered_at_once_is_no_key_error(tmp_path, why):
    keep_if = (lambda meta: "rejected" not in meta.path) if why == "keep_if" else None
    recorder = _recorder(tmp_path, keep_if=keep_if)
    if why == "zero frames":
        video_id = recorder.start("empty", kind="episode", episode=0, first_step=0)
        recorder.stop(video_id)
    elif why == "discard":
        recorder.discard(_record(recorder, "dropped", 3))
    else:
        recorder.stop(_record(recorder, "rejected", 3))
    kept = _record(recorder, "kept", 4)
    recorder.stop(kept)
    recorder.close()
    assert folder_names(tmp_path) == {"kept.mp4", "kept.json", "kept.track.jsonl"}
    assert decode(tmp_path / "kept.mp4").count == 4


# -- issue 9, defect 3: how close() ends a video in progress ------------------------------------
# (issue 19, item 9: decided from what happened to the recording, never from sys.exc_info())
class _Wrapper(ClosesOnExit):
    """The least a wrapper is: a recorder, recording calls, ``close()``."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    @records
    def step(self, error: BaseException | None = None) -> None:
        if error is not None:
            raise error

    def close(self) -> None:
        self._recorder.close()


def test_close_after_a_recording_call_failed_keeps_the_video_as_incomplete(tmp_path):
    saved = []
    recorder = _recorder(tmp_path, on_video_saved=lambda path, meta: saved.append(path))
    recorder.stop(_record(recorder, "done", 3, ended=True))
    _record(recorder, "cut", 5)
    wrapper = _Wrapper(recorder)

    def interrupted() -> None:
        try:
            wrapper.step(KeyboardInterrupt())  # Ctrl-C inside env.step()
        finally:
            recorder.close()

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert folder_names(tmp_path) == {
        "done.mp4", "done.json", "done.track.jsonl",
        "cut.incomplete.mp4", "cut.incomplete.track.jsonl",
    }  # fmt: skip
    assert decode(tmp_path / "cut.incomplete.mp4").count == 5
    assert [Path(p).name for p in saved] == ["done.mp4"]


def test_a_recording_call_that_completes_after_a_failure_resumes_the_recording(tmp_path):
    recorder = _recorder(tmp_path)
    _record(recorder, "went-on", 3)
    wrapper = _Wrapper(recorder)
    with pytest.raises(RuntimeError):
        wrapper.step(RuntimeError("a glitch"))
    wrapper.step()
    recorder.close()
    assert folder_names(tmp_path) == {"went-on.mp4", "went-on.json", "went-on.track.jsonl"}


def test_close_in_the_except_block_of_a_handled_error_saves_the_video(tmp_path):
    recorder = _recorder(tmp_path)
    _record(recorder, "cut", 4)
    try:
        {}["missing"]
    except KeyError:
        recorder.close()  # sys.exc_info() holds the KeyError: it is none of the recording's
    assert folder_names(tmp_path) == {"cut.mp4", "cut.json", "cut.track.jsonl"}
    assert decode(tmp_path / "cut.mp4").count == 4


def test_close_in_a_with_block_that_fails_keeps_the_video_as_incomplete(tmp_path):
    def failing_session() -> None:
        with _Wrapper(recorder):
            _record(recorder, "cut", 2)
            raise ValueError("boom")

    recorder = _recorder(tmp_path)
    with pytest.raises(ValueError, match="boom"):
        failing_session()
    assert folder_names(tmp_path) == {"cut.incomplete.mp4", "cut.incomplete.track.jsonl"}


def test_plain_close_mid_episode_saves_the_video_and_says_it_was_cut_short(tmp_path):
    metas: list[VideoMetadata] = []
    recorder = _recorder(tmp_path, on_video_saved=lambda path, meta: metas.append(meta))
    recorder.stop(_record(recorder, "whole", 3, ended=True))
    _record(recorder, "cut", 4)
    recorder.close()
    assert folder_names(tmp_path) == {
        "whole.mp4", "whole.json", "whole.track.jsonl", "cut.mp4", "cut.json", "cut.track.jsonl",
    }  # fmt: skip
    assert decode(tmp_path / "cut.mp4").count == 4
    sidecar = json.loads((tmp_path / "cut.json").read_text())
    assert sidecar["cut_short"] is True
    assert (sidecar["terminated"], sidecar["truncated"]) == (False, False)
    assert json.loads((tmp_path / "whole.json").read_text())["cut_short"] is False
    assert [m.cut_short for m in metas] == [False, True]
    manifest = json.loads(Path(merge_manifest(tmp_path)).read_text())
    assert {Path(v["path"]).name: v["cut_short"] for v in manifest["videos"]} == {
        "cut.mp4": True,
        "whole.mp4": False,
    }


def test_plain_close_after_the_last_step_ended_the_episode_is_not_cut_short(tmp_path):
    recorder = _recorder(tmp_path)
    _record(recorder, "ended", 3, ended=True)  # terminated, but reset() never came to stop it
    recorder.close()
    assert json.loads((tmp_path / "ended.json").read_text())["cut_short"] is False


def test_cut_short_is_asked_of_keep_if(tmp_path):
    recorder = _recorder(tmp_path, keep_if=lambda meta: not meta.cut_short)
    _record(recorder, "cut", 3)
    recorder.close()
    assert folder_names(tmp_path) == set()


# -- the messages are types: both ends agree by construction -------------------------------------
def test_worker_messages_are_typed_and_pickle(tmp_path):
    import pickle

    spec = WriterSpec.build(format="mp4", fps=10)
    for message in (
        OpenVideo(1, str(tmp_path / "a.mp4"), spec),
        WriteFrame(1, 0, (4, 4, 3), None),
        EndVideo(1, "close"),
        VideoResult(1, tmp_path / "a.mp4", 3),
    ):
        assert pickle.loads(pickle.dumps(message)) == message


def test_frames_are_converted_once_by_the_caller(tmp_path, monkeypatch):
    """The worker encodes what the caller converted; it does not run a FrameConverter again."""
    import rlvideo._core.frames

    calls = []
    convert = rlvideo._core.frames.FrameConverter.__call__

    def counting(self, frame):
        calls.append(frame.shape)
        return convert(self, frame)

    monkeypatch.setattr(rlvideo._core.frames.FrameConverter, "__call__", counting)
    results = []
    with BackgroundEncoder(kind="thread", on_done=results.append) as encoder:
        encoder.open_video(1, tmp_path / "odd.mp4", WriterSpec.build(format="mp4", fps=10))
        for _ in range(3):
            encoder.write(1, np.zeros((5, 7, 3), np.uint8))
        encoder.close_video(1)
    assert calls == [(5, 7, 3)] * 3
    decoded = decode(tmp_path / "odd.mp4")
    assert (decoded.count, decoded.width, decoded.height) == (3, 8, 6)  # padded by the caller
