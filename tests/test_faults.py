"""Faults: a killed recorder, a full disk, an unwritable folder, writers racing for one name, and
name prefixes that try to leave the folder. Every outcome is checked on the files themselves,
decoded with PyAV.

The guarantee under test, whatever the fault: a file under a final name is a complete video;
what a fault cut short is kept as ``<name>.incomplete[-N].<ext>`` (or as a hidden partial file
that ``rlvideo recover`` turns into one); nothing is written outside the video folder, and no
video is overwritten or lost to another writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from rlvideo import RecordVideo, VideoWriter, save_video
from rlvideo.errors import InvalidArgumentError, StorageError, VideoExistsError
from tests.helpers import decode, folder_names

PYTHON = sys.executable
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- helpers ---------------------------------------------------------------------------------------
def hidden(folder: Path) -> list[str]:
    """Hidden files: partial files a writer left behind (none may survive a handled fault)."""
    return sorted(name for name in folder_names(folder) if name.startswith("."))


def shade(i: int) -> int:
    """The grey level of frame ``i`` in the children's videos: distinct for i < 50."""
    return (20 + 5 * i) % 256


def assert_frames_are_the_first(path: Path, count: int | None = None, *, at_least: int = 1) -> int:
    """``path`` decodes, holds ``count`` frames (or at least ``at_least``), frame i of shade(i)."""
    video = decode(path)
    if count is not None:
        assert video.count == count, f"{path.name}: {video.count} frames, expected {count}"
    assert video.count >= at_least, f"{path.name}: {video.count} frames, expected >= {at_least}"
    for i, frame in enumerate(video.frames[:50]):
        assert abs(float(frame.mean()) - shade(i)) < 6, f"{path.name}: frame {i} is not frame {i}"
    return video.count


@contextlib.contextmanager
def running(
    code: str, *args: object, stderr: Path, **popen: Any
) -> Iterator[subprocess.Popen[str]]:
    """A child ``python -c code args``; killed (if still running) and reaped on the way out."""
    with stderr.open("w") as log:
        child = subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(code), *map(str, args)],
            stdout=subprocess.PIPE, stderr=log, text=True, **popen,
        )  # fmt: skip
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()


def wait_ready(child: subprocess.Popen, stderr: Path | None = None) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "ready":
        child.kill()
        child.wait()
        log = stderr.read_text() if stderr is not None else ""
        pytest.fail(f"the child failed before it was ready: {line!r}\n{log}")


def recover_cli(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "rlvideo", "recover", str(folder)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# -- 1. killed mid-episode -------------------------------------------------------------------------
WRAPPER_CHILD = """
    import os, sys, time
    import gymnasium as gym
    from rlvideo import RecordVideo
    from rlvideo.cli.demo import balancing_policy

    folder, encoder = sys.argv[1:3]
    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=100_000),
        folder, episode_trigger=lambda e: True, encoder=encoder, track=True,
    )
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        for step in range(40 if episode < 2 else 100_000):
            obs, *_ = env.step(balancing_policy(obs))
            if episode == 2 and step == 120:
                # the two finished episodes are final: the kill comes mid-episode 2. Their
                # tracks are final once the caller learnt of their videos, as it steps
                while not os.path.exists(f"{folder}/rl-video-episode-1.track.jsonl"):
                    obs, *_ = env.step(balancing_policy(obs))
                    time.sleep(0.002)
                print("ready", flush=True)
            if episode == 2:
                time.sleep(0.002)
"""


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_sigkill_mid_episode_with_the_wrapper(tmp_path: Path, encoder: str) -> None:
    folder = tmp_path / "videos"
    log = tmp_path / "stderr.txt"
    with running(WRAPPER_CHILD, folder, encoder, stderr=log) as child:
        wait_ready(child, log)
        workers = psutil.Process(child.pid).children(recursive=True)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        # the process encoder outlives its parent: it sees the pipe close and keeps the video
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert not alive, f"encoder processes still running: {alive}"
    assert child.returncode == -signal.SIGKILL

    assert decode(folder / "rl-video-episode-0.mp4").count == 41  # reset frame + 40 steps
    assert decode(folder / "rl-video-episode-1.mp4").count == 41
    assert not (folder / "rl-video-episode-2.mp4").exists(), "no half file under a final name"
    # the surviving process worker kept the video itself; a thread died with the process and
    # left its hidden partial file; either way the track of episode 2 is left hidden
    left = sorted(name.split(".")[-1] for name in hidden(folder))
    assert left == (["writing"] if encoder == "process" else ["mp4", "writing"])
    result = recover_cli(folder)
    assert result.returncode == 0, result.stderr
    assert "rl-video-episode-2.incomplete.track.jsonl" in result.stdout
    if encoder == "thread":
        assert "rl-video-episode-2.incomplete.mp4" in result.stdout
    assert hidden(folder) == []
    assert folder_names(folder) == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.track.jsonl",
        "rl-video-episode-1.mp4", "rl-video-episode-1.track.jsonl",
        "rl-video-episode-2.incomplete.mp4", "rl-video-episode-2.incomplete.track.jsonl",
    }  # fmt: skip
    kept = decode(folder / "rl-video-episode-2.incomplete.mp4")
    track = (folder / "rl-video-episode-2.incomplete.track.jsonl").read_text().splitlines()
    assert len(track) == kept.count  # cut to the frames the video kept
    assert [json.loads(line)["frame"] for line in track] == list(range(kept.count))
    # the process worker keeps every frame handed over before the kill: all but the last batch,
    # a quarter of its ring at most (34 slots of 600x400: 8 frames); a thread loses the last
    # fragment
    assert kept.count >= (121 - 7 if encoder == "process" else 1)
    assert (kept.width, kept.height) == (600, 400)


def test_recover_leaves_a_recording_in_progress_alone(tmp_path: Path) -> None:
    """``rlvideo recover DIR`` run while another process records there (a cron job, a second
    run) must not take the live partial file: the writer holds a lock on it until it ends."""
    folder = tmp_path / "videos"
    writer = VideoWriter(folder / "live.mp4", fps=30)
    frames = [np.full((48, 64, 3), shade(i), np.uint8) for i in range(50)]
    writer.write_batch(frames)
    (partial,) = hidden(folder)
    result = recover_cli(folder)
    assert result.returncode == 0, result.stderr
    assert "no partial files found" in result.stdout
    result = recover_cli(folder / partial)  # named explicitly: refused, with the reason
    assert result.returncode == 2
    assert "is still being written by a running process" in result.stderr
    writer.write_batch(frames)
    assert writer.close() == folder / "live.mp4"
    assert_frames_are_the_first(folder / "live.mp4", 100)
    assert folder_names(folder) == {"live.mp4"}


GENERATOR_CHILD = """
    import sys, time
    import numpy as np
    from rlvideo import save_video

    def frames():
        for i in range(100_000):
            if i == 90:
                print("ready", flush=True)
            yield np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8)
            time.sleep(0.002)

    save_video(frames(), sys.argv[1], fps=30)
"""


def test_sigint_while_save_video_streams_a_generator(tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    log = tmp_path / "stderr.txt"
    with running(GENERATOR_CHILD, folder, stderr=log) as child:
        wait_ready(child, log)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGINT  # what Python does on an unhandled Ctrl-C
    assert "KeyboardInterrupt" in log.read_text()
    assert folder_names(folder) == {"rl-video-episode-0.incomplete.mp4"}
    assert_frames_are_the_first(folder / "rl-video-episode-0.incomplete.mp4", at_least=90)


SEQUENCE_CHILD = """
    import sys, time
    from collections.abc import Sequence
    import numpy as np
    from rlvideo import save_video

    class SlowFrames(Sequence):  # frames rendered on demand, slowly: Ctrl-C lands mid-encode
        def __len__(self):
            return 2000
        def __getitem__(self, i):
            if i == 150:
                print("ready", flush=True)
            time.sleep(0.002)
            return np.full((48, 64, 3), (20 + 5 * (i % 50)) % 256, np.uint8)

    save_video(SlowFrames(), sys.argv[1], step_trigger=lambda s: s % 50 == 0, video_length=50)
"""


def test_sigint_while_step_clips_are_cut_keeps_complete_clips_final(tmp_path: Path) -> None:
    """Step clips are encoded once and cut: Ctrl-C mid-way saves the complete ones."""
    folder = tmp_path / "videos"
    log = tmp_path / "stderr.txt"
    with running(SEQUENCE_CHILD, folder, stderr=log) as child:
        wait_ready(child, log)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in log.read_text()
    names = folder_names(folder)
    finals = sorted(n for n in names if ".incomplete" not in n)
    incompletes = sorted(n for n in names if ".incomplete" in n)
    assert {"rl-video-step-0.mp4", "rl-video-step-50.mp4"} <= set(finals)
    assert len(incompletes) <= 1, incompletes
    assert hidden(folder) == []
    for name in finals:  # clip at step s holds frames s+1 .. s+50 (shade cycles every 50)
        video = decode(folder / name)
        assert video.count == 50, name
        first = (int(name.split("-")[-1].split(".")[0]) + 1) % 50
        assert abs(float(video.frames[0].mean()) - shade(first)) < 6, name
    for name in incompletes:
        assert 0 < decode(folder / name).count < 50, name


# -- 2. a full disk --------------------------------------------------------------------------------
FULL_DISK_CHILD = """
    import json, os, resource, signal, sys
    import numpy as np
    from rlvideo import VideoWriter, save_video

    folder, limit, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if limit:  # writes past the limit fail with EFBIG instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    small = [np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8) for i in range(12)]
    save_video(small, folder, name_prefix="small", fps=30)
    rng = np.random.default_rng(0)  # noise: x264 cannot make it small
    if how == "save_video":  # 64x64: encoded inline
        noise = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(100_000))
    else:  # 320x240 (4x4 blocks of noise): the pipelined encoder, on its own thread
        block = np.ones((4, 4, 1), np.uint8)
        noise = (
            np.kron(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), block)
            for _ in range(100_000)
        )
    try:
        if how == "save_video":
            save_video(noise, folder, name_prefix="big", fps=30)
        elif how == "wrapper":  # CartPole through RecordVideo (shared memory: the test below)
            import gymnasium as gym
            from rlvideo import RecordVideo
            from rlvideo.cli.demo import balancing_policy

            env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=400)
            env = RecordVideo(
                env, folder, episode_trigger=lambda e: True, name_prefix="big", encoder="thread"
            )
            try:
                obs, _ = env.reset(seed=0)
                for _ in range(400):
                    obs, *_ = env.step(balancing_policy(obs))
            finally:
                env.close()  # the encoder's error arrives when the video ends
        else:
            with VideoWriter(os.path.join(folder, "big-episode-0.mp4"), fps=30) as writer:
                writer.write_batch(noise)
    except Exception as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
"""


def assert_full_disk_handled(folder: Path, output: str) -> None:
    outcome = json.loads(output)
    assert outcome["type"] == "StorageError", outcome
    assert "no space left: the disk is full or the file is too large" in outcome["message"]
    assert str(folder / "big-episode-0.mp4") in outcome["message"]
    assert_frames_are_the_first(folder / "small-episode-0.mp4", 12)  # the earlier video
    assert not (folder / "big-episode-0.mp4").exists(), "no half file under a final name"
    assert hidden(folder) == [], "no hidden partial file left to fill the disk"
    assert folder_names(folder) <= {"small-episode-0.mp4", "big-episode-0.incomplete.mp4"}
    if (folder / "big-episode-0.incomplete.mp4").exists():  # what fitted, cleanly playable
        video = decode(folder / "big-episode-0.incomplete.mp4")
        assert video.count > 0


@pytest.mark.parametrize("how", ["save_video", "pipelined-writer", "wrapper"])
def test_file_size_limit_is_a_storage_error(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    limit = {"save_video": 400_000, "pipelined-writer": 1_000_000, "wrapper": 12_000}[how]
    result = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(FULL_DISK_CHILD), str(folder), str(limit), how],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_full_disk_handled(folder, result.stdout)
    # the fragments that fitted were kept, playable
    assert decode(folder / "big-episode-0.incomplete.mp4").count >= 30


SHM_CHILD = """
    import json, sys
    import gymnasium as gym
    from rlvideo import RecordVideo

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, sys.argv[1], episode_trigger=lambda e: True)  # encoder="process"
    try:
        env.reset(seed=0)
    except Exception as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
    env.close()
"""


def test_too_little_shared_memory_is_a_storage_error_not_a_crash(tmp_path: Path) -> None:
    """The process encoder's frame slots live in /dev/shm (64 MB in Docker by default). When
    they do not fit, the pages were created lazily and the first frame copied into them died
    of SIGBUS; now their room is reserved up front, and a missing one is a clear error."""
    if not IS_ROOT or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to give the child a tiny /dev/shm")
    folder = tmp_path / "videos"
    script = f'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "{PYTHON}" -c "$0" "$1"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
         textwrap.dedent(SHM_CHILD), str(folder)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0 and "mount" in result.stderr and not result.stdout:
        pytest.skip(f"cannot mount a private /dev/shm here: {result.stderr.strip()}")
    assert result.returncode == 0, f"the child died: {result.returncode}\n{result.stderr}"
    outcome = json.loads(result.stdout)
    assert outcome["type"] == "StorageError"
    assert "cannot reserve 23.3 MB of shared memory" in outcome["message"]
    assert 'encoder="thread"' in outcome["message"]
    assert folder_names(folder) == set()


@contextlib.contextmanager
def mounted(source: str, target: Path, *options: str) -> Iterator[None]:
    """``mount`` for the test's duration; skips where mounting is not allowed (not root, CI)."""
    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make a small or read-only file system")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", *options, source, str(target)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_full_file_system_is_a_storage_error(tmp_path: Path) -> None:
    """A 2 MB tmpfs fills up (ENOSPC): the same guarantees as a file size limit."""
    folder = tmp_path / "tiny"
    with mounted("tmpfs", folder, "-t", "tmpfs", "-o", "size=2m"):
        result = subprocess.run(
            [PYTHON, "-c", textwrap.dedent(FULL_DISK_CHILD), str(folder), "0", "save_video"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert_full_disk_handled(folder, result.stdout)
        # no room for a clean copy: the partial file itself, cut back to its last complete
        # fragment (which frees space, needs none), is what was kept
        assert decode(folder / "big-episode-0.incomplete.mp4").count >= 30


# -- 3. an unwritable folder -----------------------------------------------------------------------
FRAMES = [np.full((48, 64, 3), shade(i), np.uint8) for i in range(5)]


def test_folder_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the videos' parent folder should be")
    with pytest.raises(StorageError, match=r"cannot create video_folder .*not-a-folder/videos"):
        save_video(FRAMES, blocker / "videos", fps=30)
    writer = VideoWriter(blocker / "v.mp4")
    with pytest.raises(StorageError, match=r"cannot create the folder .*not-a-folder"):
        writer.write(FRAMES[0])
    assert blocker.read_text() == "a file where the videos' parent folder should be"
    assert folder_names(tmp_path) == {"not-a-folder"}


def test_read_only_file_system(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    with mounted(str(folder), folder, "--bind", "-o", "ro"):
        message = rf"cannot write rl-video-episode-0\.mp4 in {folder}: the folder is not writable"
        with pytest.raises(StorageError, match=message):  # before any frame is encoded
            save_video(FRAMES, folder, fps=30)
        with pytest.raises(StorageError, match=rf"in {folder}: the folder is not writable"):
            VideoWriter(folder / "v.mp4")
        env = RecordVideo(
            _cartpole(), str(folder), episode_trigger=lambda e: True, encoder="thread"
        )
        with pytest.raises(StorageError, match=rf"in {folder}: the folder is not writable"):
            env.reset(seed=0)  # the video starts here, so the error comes here, not at close()
        env.close()
        assert folder_names(folder) == set()


def _cartpole() -> Any:
    import gymnasium as gym

    return gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=5)


NOBODY_CHILD = """
    import json, os, sys, tempfile
    import numpy as np
    from rlvideo import save_video
    from rlvideo.errors import RLVideoError

    frames = [np.zeros((8, 8, 3), np.uint8)] * 3
    with tempfile.TemporaryDirectory() as warm_up:  # load every module while still root
        save_video(frames, warm_up, fps=30)
    uid, gid = int(sys.argv[1]), int(sys.argv[2])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from here on, this process is an ordinary user
    for folder in sys.argv[3:]:
        try:
            save_video(frames, folder, fps=30)
            print(json.dumps({"type": None}))
        except RLVideoError as exc:
            print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
"""


def test_folder_without_write_permission() -> None:
    """Root writes anywhere, so the child drops to ``nobody``, as a real user would be."""
    if not IS_ROOT:
        pytest.skip("needs root to run the child as another user")
    import pwd

    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="rlvideo-perm-"))
    try:
        base.chmod(0o755)
        theirs = base / "theirs"
        theirs.mkdir(mode=0o755)  # root's: nobody may look, not write
        result = subprocess.run(
            [PYTHON, "-c", textwrap.dedent(NOBODY_CHILD), str(nobody.pw_uid), str(nobody.pw_gid),
             str(theirs), str(theirs / "sub")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        existing, missing = (json.loads(line) for line in result.stdout.splitlines())
        assert existing["type"] == "StorageError"
        assert f"in {theirs}: the folder is not writable" in existing["message"]
        assert missing["type"] == "StorageError"
        assert f"cannot create video_folder {theirs / 'sub'}" in missing["message"]
        assert "Permission denied" in missing["message"]
        assert folder_names(theirs) == set()
    finally:
        shutil.rmtree(base)


# -- 4. many writers, one folder -------------------------------------------------------------------
RACER = """
    import json, sys
    import numpy as np
    from rlvideo import save_video
    from rlvideo.errors import VideoExistsError

    folder, k, index = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    frames = [np.full((96, 128, 3), 30 * k + 15, np.uint8) for _ in range(30 + k)]
    print("ready", flush=True)
    sys.stdin.readline()  # the barrier: every racer starts when the test says go
    try:
        paths = save_video(
            frames, folder, lambda i: True, episode_index=index, fps=30, overwrite=False
        )  # the strict rule: by default, a racer that starts after one published replaces it
        print(json.dumps({"k": k, "outcome": "saved", "path": str(paths[0])}), flush=True)
    except VideoExistsError as exc:
        print(json.dumps({"k": k, "outcome": "exists", "message": str(exc)}), flush=True)
"""
RACERS = 8


def race(folder: Path, indices: list[int]) -> list[dict[str, object]]:
    children = [
        subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(RACER), str(folder), str(k), str(index)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k, index in enumerate(indices)
    ]
    try:
        for child in children:
            wait_ready(child)
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        return [json.loads(child.communicate(timeout=120)[0]) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def assert_video_of_racer(path: Path, k: int) -> None:
    video = decode(path)
    assert video.count == 30 + k, f"{path.name} holds {video.count} frames: not racer {k}'s"
    assert abs(float(video.frames[0].mean()) - (30 * k + 15)) < 6, f"{path.name} not racer {k}'s"


def test_writers_racing_for_one_name_lose_nothing(tmp_path: Path) -> None:
    """With overwrite=False, one wins the name; every other either is refused before writing, or
    (if it raced past that check) keeps its video as a unique ``.incomplete[-N]`` file and
    raises VideoExistsError saying where. Nothing is overwritten, nothing lost."""
    folder = tmp_path / "videos"
    outcomes = race(folder, [0] * RACERS)
    saved = [o for o in outcomes if o["outcome"] == "saved"]
    assert len(saved) == 1, outcomes
    final = folder / "rl-video-episode-0.mp4"
    assert saved[0]["path"] == str(final)
    assert_video_of_racer(final, int(saved[0]["k"]))  # type: ignore[call-overload]

    kept: list[Path] = []
    refused = 0
    for outcome in outcomes:
        if outcome["outcome"] == "saved":
            continue
        message = str(outcome["message"])
        assert message.startswith(f"{final} already exists. Pass overwrite=True"), message
        if " was kept as " in message:
            path = Path(message.split(" was kept as ")[1].rstrip("."))
            assert path.parent == folder
            assert path.name.startswith("rl-video-episode-0.incomplete")
            assert_video_of_racer(path, int(outcome["k"]))  # type: ignore[call-overload]
            kept.append(path)
        else:
            refused += 1
    assert len(set(kept)) == len(kept), "each kept video has its own name"
    assert folder_names(folder) == {final.name, *(p.name for p in kept)}
    assert len(folder_names(folder)) == RACERS - refused
    assert hidden(folder) == []


def test_writers_with_distinct_indices_all_succeed(tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    outcomes = race(folder, list(range(RACERS)))
    assert all(o["outcome"] == "saved" for o in outcomes), outcomes
    assert folder_names(folder) == {f"rl-video-episode-{k}.mp4" for k in range(RACERS)}
    for k in range(RACERS):
        assert_video_of_racer(folder / f"rl-video-episode-{k}.mp4", k)


# -- 5. names that try to leave the folder ---------------------------------------------------------
def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


ESCAPES = ["../escape", "../../escape", "sub/../../escape", "..", "a/b", "a\\b", "nul\0byte"]


@pytest.mark.parametrize("prefix", [*ESCAPES, "ABSOLUTE"])
def test_name_prefix_cannot_write_outside_the_folder(tmp_path: Path, prefix: str) -> None:
    if prefix == "ABSOLUTE":
        prefix = str(tmp_path / "outside" / "escape")
    (tmp_path / "videos").mkdir()
    before = tree(tmp_path)
    with pytest.raises(InvalidArgumentError, match="name_prefix"):
        save_video(FRAMES, tmp_path / "videos", name_prefix=prefix, fps=30)
    with pytest.raises(InvalidArgumentError, match="name_prefix"):
        save_video(FRAMES, tmp_path / "videos", name_prefix=prefix, step_trigger=lambda s: True)
    with pytest.raises(InvalidArgumentError, match="name_prefix"):
        RecordVideo(_cartpole(), str(tmp_path / "videos"), name_prefix=prefix, encoder="thread")
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("path", "match"),
    [("videos/..", "'..' is not a file name"), ("videos/a\0b.mp4", "holds a NUL character")],
)
def test_video_writer_path_must_end_in_a_file_name(tmp_path: Path, path: str, match: str) -> None:
    before = tree(tmp_path)
    with pytest.raises(InvalidArgumentError, match=match):
        VideoWriter(f"{tmp_path}/{path}", format="mp4")
    assert tree(tmp_path) == before


def test_working_files_stay_beside_the_video(tmp_path: Path) -> None:
    """The hidden partial and the ``.incomplete`` file live beside the path given, nowhere else."""
    writer = VideoWriter(tmp_path / "videos" / "deep" / "run.mp4", fps=30)
    writer.write_batch(FRAMES * 12)  # enough for the encoder to hand the muxer a first packet
    assert hidden(tmp_path / "videos" / "deep")[0].startswith(".run.mp4.")
    assert writer.abort() == tmp_path / "videos" / "deep" / "run.incomplete.mp4"
    assert decode(tmp_path / "videos" / "deep" / "run.incomplete.mp4").count == 60
    assert tree(tmp_path) == {"videos", "videos/deep", "videos/deep/run.incomplete.mp4"}


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symlink_under_the_final_name_is_never_written_through(
    tmp_path: Path, overwrite: bool
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    outside = tmp_path / "outside.mp4"
    (folder / "rl-video-episode-0.mp4").symlink_to(outside)  # dangling: "exists" says False
    if overwrite:
        save_video(FRAMES, folder, fps=30, overwrite=True)  # replaces the link, not its target
        assert not (folder / "rl-video-episode-0.mp4").is_symlink()
        assert_frames_are_the_first(folder / "rl-video-episode-0.mp4", 5)
    else:
        with pytest.raises(VideoExistsError, match=r"kept as .*rl-video-episode-0\.incomplete"):
            save_video(FRAMES, folder, fps=30)
        assert (folder / "rl-video-episode-0.mp4").is_symlink()
        assert_frames_are_the_first(folder / "rl-video-episode-0.incomplete.mp4", 5)
    assert not outside.exists()
    assert hidden(folder) == []


# -- 6. SIGKILL in every format --------------------------------------------------------------------
SELF_KILL_CHILD = """
    import os, signal, sys
    import numpy as np
    from rlvideo import VideoWriter

    path, frames, height, width = sys.argv[1], *map(int, sys.argv[2:5])
    writer = VideoWriter(path, fps=30)
    for i in range(frames):
        writer.write(np.full((height, width, 3), (20 + 5 * i) % 256, np.uint8))  # shade(i)
    os.kill(os.getpid(), signal.SIGKILL)  # a deterministic point: right after frame `frames`
"""
KILL_AFTER = 90  # 3 s at 30 fps
AT_MOST_LOST = 30 + 12  # the promise: the last ~1 s, plus x264's look-ahead (11 frames)


@pytest.mark.parametrize("size", [(48, 64), (240, 320)], ids=["inline", "pipelined"])
@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_sigkill_keeps_all_but_the_last_second_in_every_format(
    tmp_path: Path, fmt: str, size: tuple[int, int]
) -> None:
    """A writer killed after 3 s of video leaves a partial file that ``rlvideo recover`` turns
    into ``<name>.incomplete.<ext>`` holding the first frames, all but about the last second.
    WebM (Matroska buffers a cluster) and GIF (a write buffer) once left 0 bytes."""
    folder = tmp_path / "videos"
    folder.mkdir()
    result = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(SELF_KILL_CHILD), str(folder / f"v.{fmt}"), str(KILL_AFTER),
         *map(str, size)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == -signal.SIGKILL, result.stderr
    [partial] = hidden(folder)
    assert (folder / partial).stat().st_size > 0, f"{partial} is empty after {KILL_AFTER} frames"

    done = recover_cli(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert folder_names(folder) == {f"v.incomplete.{fmt}"}
    kept = assert_frames_are_the_first(folder / f"v.incomplete.{fmt}")
    assert KILL_AFTER - AT_MOST_LOST <= kept <= KILL_AFTER
    assert decode(folder / f"v.incomplete.{fmt}").height == size[0]


def test_recover_drops_a_gif_frame_the_kill_cut_short(tmp_path: Path) -> None:
    """A kill midway through writing a frame (a large frame takes several writes) leaves it cut
    short: recover keeps the frames before it, never a torn last frame."""
    folder = tmp_path / "videos"
    folder.mkdir()
    script = textwrap.dedent(SELF_KILL_CHILD)
    child = [PYTHON, "-c", script, str(folder / "v.gif"), "40", "48", "64"]
    assert subprocess.run(child, timeout=120, check=False).returncode == -signal.SIGKILL
    [partial] = [folder / name for name in hidden(folder)]
    with partial.open("r+b") as file:  # into the image data of the last frame (~130 bytes)
        file.truncate(partial.stat().st_size - 50)

    assert recover_cli(folder).returncode == 0
    video = decode(folder / "v.incomplete.gif")
    assert video.count >= 30
    for i, frame in enumerate(video.frames):  # GIF keeps a solid grey exactly
        assert np.all(frame == shade(i)), f"frame {i} of {video.count} is torn"


# -- 7. step clips on a full disk ------------------------------------------------------------------
STEP_CLIPS_CHILD = """
    import json, sys
    import numpy as np
    from rlvideo import save_video

    rng = np.random.default_rng(0)  # noise: 400 frames of 64x64 take ~700 kB, each clip ~90 kB
    frames = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(400)]
    try:
        save_video(frames, sys.argv[1], step_trigger=lambda s: s % 50 == 0, video_length=50)
    except Exception as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
"""


@pytest.mark.parametrize("size", ["500k", "1m"], ids=["full-while-encoding", "full-while-cutting"])
def test_step_clips_on_a_full_file_system(tmp_path: Path, size: str) -> None:
    """Step clips are cut from one hidden stream; when the disk fills up, the frames end up in a
    visible ``<clip>.incomplete.mp4`` that the error names, never in a hidden file."""
    folder = tmp_path / "tiny"
    with mounted("tmpfs", folder, "-t", "tmpfs", "-o", f"size={size}"):
        result = subprocess.run(
            [PYTHON, "-c", textwrap.dedent(STEP_CLIPS_CHILD), str(folder)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout)
        assert outcome["type"] == "StorageError", outcome
        assert "no space left" in outcome["message"]
        assert hidden(folder) == [], "no hidden file left"
        [incomplete] = [name for name in folder_names(folder) if ".incomplete" in name]
        assert str(folder / incomplete) in outcome["message"]
        assert str(folder / incomplete.replace(".incomplete", "")) in outcome["message"]
        assert "/." not in outcome["message"], "the message names no hidden file"
        assert decode(folder / incomplete).count > 0
        for name in folder_names(folder) - {incomplete}:  # complete clips, whole
            assert decode(folder / name).count == 50, name


def test_sigterm_to_the_process_group_keeps_the_video_without_recover(tmp_path: Path) -> None:
    """A scheduler's preemption or ``timeout`` sends SIGTERM to the whole process group: the
    training process dies at once (Python installs no SIGTERM handler), and the encoder process,
    which ignores it as it ignores Ctrl-C, sees its socket close and keeps the video itself."""
    folder = tmp_path / "videos"
    log = tmp_path / "stderr.txt"
    with running(
        WRAPPER_CHILD, folder, "process", stderr=log, start_new_session=True,
        env={**os.environ, "SDL_NO_SIGNAL_HANDLERS": "1"},  # else pygame's SDL eats SIGTERM
    ) as child:  # fmt: skip
        wait_ready(child, log)
        workers = psutil.Process(child.pid).children(recursive=True)
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert not alive, f"encoder processes still running: {alive}"
    assert child.returncode == -signal.SIGTERM
    assert decode(folder / "rl-video-episode-1.mp4").count == 41
    assert not (folder / "rl-video-episode-2.mp4").exists()
    # no recover needed for the video: the worker kept it (only the track is left hidden)
    assert [name.split(".")[-1] for name in hidden(folder)] == ["writing"]
    kept = decode(folder / "rl-video-episode-2.incomplete.mp4")
    assert kept.count >= 121 - 7  # all but the last batch: at most 8 frames of 600x400
    assert (kept.width, kept.height) == (600, 400)
