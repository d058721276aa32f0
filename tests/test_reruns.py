"""Re-running a script or a notebook cell: a video of the same name is replaced (issue 20, part 1).

``overwrite=None`` (the default) replaces and says so once per folder; ``overwrite=False``
refuses before writing; ``overwrite=True`` replaces without a word. Replacing is atomic, and no
sidecar, data track or poster of the replaced video survives beside the new one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlvideo import RecordVideo, VideoWriter, save_video
from rlvideo.errors import StorageError, VideoExistsError
from rlvideo.io import _files
from tests.helpers import decode, folder_names, solid

_NAME = "rl-video-episode-0.mp4"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a fresh process as far as "once per folder" goes."""
    monkeypatch.setattr(_files, "_TOLD_REPLACING", set())


def frames(value: int, count: int = 6) -> list[np.ndarray]:
    return [solid(value) for _ in range(count)]


def replacing_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "Overwriting" in r.getMessage()
    ]


def test_rerunning_save_video_replaces_and_says_so_once_per_folder(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.WARNING, logger="rlvideo")
    save_video(frames(40), "videos", fps=30)
    assert replacing_warnings(caplog) == []  # nothing was replaced: nothing to say
    (Path("videos") / "notes.txt").write_text("a file of the user's")
    [path] = save_video(frames(200, count=4), "videos", fps=30)  # the re-run
    assert path == tmp_path / "videos" / _NAME
    video = decode(path)
    assert video.count == 4
    assert abs(float(video.frames[0].mean()) - 200) < 4  # the second run's pixels
    [message] = replacing_warnings(caplog)
    assert str(tmp_path / "videos") in message
    assert "2 files" in message
    assert "overwrite=False" in message
    save_video(frames(90), "videos", fps=30)  # a third run: said once already
    assert len(replacing_warnings(caplog)) == 1
    assert abs(float(decode(path).frames[0].mean()) - 90) < 4
    assert folder_names(tmp_path / "videos") == {_NAME, "notes.txt"}


def test_one_warning_for_many_replaced_clips(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rlvideo")
    for value in (30, 220):
        save_video(frames(value, 12), tmp_path, step_trigger=lambda s: s % 4 == 0, fps=10)
    assert len(replacing_warnings(caplog)) == 1
    assert "3 files" in replacing_warnings(caplog)[0]
    for step in (0, 4, 8):
        assert abs(float(decode(tmp_path / f"rl-video-step-{step}.mp4").frames[0].mean()) - 220) < 4


def test_overwrite_false_refuses_before_writing(tmp_path, caplog):
    save_video(frames(40), tmp_path, fps=30)
    before = (tmp_path / _NAME).read_bytes()
    with pytest.raises(VideoExistsError, match=r"already exists\. Pass overwrite=True"):
        save_video(frames(200), tmp_path, fps=30, overwrite=False)
    assert (tmp_path / _NAME).read_bytes() == before
    assert folder_names(tmp_path) == {_NAME}  # nothing written, not even a partial


def test_overwrite_true_replaces_without_a_word(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rlvideo")
    save_video(frames(40), tmp_path, fps=30)
    save_video(frames(200), tmp_path, fps=30, overwrite=True)
    assert abs(float(decode(tmp_path / _NAME).frames[0].mean()) - 200) < 4
    assert replacing_warnings(caplog) == []


def test_video_writer_replaces_by_default(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rlvideo")
    path = tmp_path / "v.mp4"
    for value in (40, 200):
        with VideoWriter(path, fps=10) as writer:
            for frame in frames(value, 3):
                writer.write(frame)
    assert abs(float(decode(path).frames[0].mean()) - 200) < 4
    assert len(replacing_warnings(caplog)) == 1
    with pytest.raises(VideoExistsError):
        VideoWriter(path, overwrite=False)


def test_a_failed_replacement_leaves_the_old_video_whole(tmp_path):
    save_video(frames(40, 8), tmp_path, fps=30)
    before = (tmp_path / _NAME).read_bytes()

    def failing():
        yield solid(200)
        yield solid(200)
        raise OSError("the camera broke")

    with pytest.raises(OSError, match="the camera broke"):
        save_video(failing(), tmp_path, fps=30)
    assert (tmp_path / _NAME).read_bytes() == before
    old = decode(tmp_path / _NAME)
    assert old.count == 8
    assert abs(float(old.frames[-1].mean()) - 40) < 4


def test_a_failed_publish_leaves_the_old_video_whole(tmp_path, monkeypatch):
    save_video(frames(40, 8), tmp_path, fps=30)
    before = (tmp_path / _NAME).read_bytes()

    def no_rename(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        save_video(frames(200, 4), tmp_path, fps=30)
    monkeypatch.undo()
    assert (tmp_path / _NAME).read_bytes() == before
    assert decode(tmp_path / _NAME).count == 8


def test_the_replaced_videos_sidecar_track_and_poster_go(tmp_path):
    save_video(frames(40), tmp_path, fps=30)
    stale = [
        tmp_path / "rl-video-episode-0.json",
        tmp_path / "rl-video-episode-0.track.jsonl",
        tmp_path / "posters" / f"{_NAME}.png",
    ]
    stale[2].parent.mkdir()
    for path in stale:
        path.write_text("of the old video")
    kept = tmp_path / "rl-video-episode-1.json"
    kept.write_text("of another video")
    save_video(frames(200), tmp_path, fps=30)
    assert [path for path in stale if path.exists()] == []
    assert kept.exists()


def test_the_poster_of_a_gallery_of_runs_goes_too(tmp_path):
    from rlvideo.gallery import build_gallery

    run = tmp_path / "runs" / "ppo"
    save_video(frames(40), run, fps=30)
    build_gallery(tmp_path / "runs")
    poster = tmp_path / "runs" / "posters" / "ppo" / f"{_NAME}.png"
    assert poster.is_file()
    save_video(frames(200), run, fps=30)
    assert not poster.exists()


def test_overwrite_false_touches_nothing_beside_it(tmp_path):
    save_video(frames(40), tmp_path, fps=30)
    sidecar = tmp_path / "rl-video-episode-0.json"
    sidecar.write_text("{}")
    with pytest.raises(VideoExistsError):
        save_video(frames(200), tmp_path, fps=30, overwrite=False)
    assert sidecar.read_text() == "{}"


def run_cartpole(env, episodes: int = 1) -> None:
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    env.close()


def make() -> gym.Env:
    return gym.wrappers.TimeLimit(gym.make("CartPole-v1", render_mode="rgb_array"), 10)


def test_record_video_reruns_into_the_same_folder(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rlvideo")
    run_cartpole(RecordVideo(make(), str(tmp_path), metadata=True))
    first_track = (tmp_path / "rl-video-episode-0.track.jsonl").read_text()
    run_cartpole(RecordVideo(make(), str(tmp_path), metadata=True))
    assert len(replacing_warnings(caplog)) == 1
    assert decode(tmp_path / _NAME).count == 11
    assert (tmp_path / "rl-video-episode-0.track.jsonl").read_text() == first_track
    run_cartpole(RecordVideo(make(), str(tmp_path)))  # no sidecar, no track this time
    assert folder_names(tmp_path) == {_NAME}  # the old ones went with the old video
    env = RecordVideo(make(), str(tmp_path), overwrite=False)
    with pytest.raises(VideoExistsError):
        env.reset(seed=0)
    env.close()


def test_vector_record_video_reruns(tmp_path, caplog):
    from rlvideo.wrappers.vector import RecordVideo as VectorRecordVideo

    caplog.set_level(logging.WARNING, logger="rlvideo")
    for _ in range(2):
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make("CartPole-v1", render_mode="rgb_array")] * 2
        )
        envs = VectorRecordVideo(envs, str(tmp_path), video_length=5)
        envs.reset(seed=0)
        for _ in range(6):
            envs.step(np.zeros(2, dtype=np.int64))
        envs.close()
    assert len(replacing_warnings(caplog)) == 1
    assert all(decode(tmp_path / name).count == 5 for name in folder_names(tmp_path))


def test_sb3_recorder_reruns(tmp_path, caplog):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    caplog.set_level(logging.WARNING, logger="rlvideo")
    inodes = []
    for _ in range(2):
        venv = make_vec_env("CartPole-v1", n_envs=1, env_kwargs={"render_mode": "rgb_array"})
        venv = VecVideoRecorder(
            venv, str(tmp_path), record_video_trigger=lambda s: s == 0, video_length=5
        )
        venv.reset()
        for _ in range(6):
            venv.step(np.zeros(1, dtype=np.int64))
        venv.close()
        [name] = folder_names(tmp_path)
        inodes.append((tmp_path / name).stat().st_ino)
    assert len(replacing_warnings(caplog)) == 1
    assert inodes[0] != inodes[1]  # the second run's file
    assert decode(tmp_path / name).count >= 5


def test_a_remote_folder_is_replaced_too(tmp_path, caplog):
    fsspec = pytest.importorskip("fsspec")
    caplog.set_level(logging.WARNING, logger="rlvideo")
    url = "memory://reruns/videos"
    fs = fsspec.filesystem("memory")
    try:
        save_video(frames(40), url, fps=30)
        fs.pipe_file("/reruns/videos/rl-video-episode-0.json", b"{}")
        save_video(frames(200, 4), url, fps=30)
        [message] = replacing_warnings(caplog)
        assert url in message
        assert "overwrite=False" in message
        assert not fs.exists("/reruns/videos/rl-video-episode-0.json")
        local = tmp_path / _NAME
        local.write_bytes(fs.cat_file(f"/reruns/videos/{_NAME}"))
        assert decode(local).count == 4
        with pytest.raises(VideoExistsError):
            save_video(frames(90), url, fps=30, overwrite=False)
    finally:
        fs.rm("/reruns", recursive=True)


def test_pettingzoo_record_video_reruns(tmp_path, caplog):
    pettingzoo = pytest.importorskip("pettingzoo")
    from rlvideo.wrappers.pettingzoo import RecordVideo as PettingZooRecordVideo

    caplog.set_level(logging.WARNING, logger="rlvideo")
    for max_cycles in (3, 5):
        env = pettingzoo.make(
            "parallel", "butterfly/pistonball-v6", render_mode="rgb_array", max_cycles=max_cycles
        )
        env = PettingZooRecordVideo(env, str(tmp_path))
        env.reset(seed=0)
        while env.agents:
            env.step({a: env.action_space(a).sample() for a in env.agents})
        env.close()
    assert len(replacing_warnings(caplog)) == 1
    assert decode(tmp_path / _NAME).count == 6  # the second run's: reset frame + 5 steps


def test_a_remote_wrapper_rerun_replaces_and_drops_the_old_sidecar(tmp_path, caplog):
    fsspec = pytest.importorskip("fsspec")
    caplog.set_level(logging.WARNING, logger="rlvideo")
    url = "memory://reruns-wrapper/videos"
    fs = fsspec.filesystem("memory")
    try:
        run_cartpole(RecordVideo(make(), url, metadata=True, encoder="thread"))
        assert fs.exists("/reruns-wrapper/videos/rl-video-episode-0.json")
        run_cartpole(RecordVideo(make(), url, encoder="thread"))  # no sidecar this time
        [message] = replacing_warnings(caplog)
        assert url in message
        names = {p.rsplit("/", 1)[-1] for p in fs.ls("/reruns-wrapper/videos", detail=False)}
        assert names == {_NAME}
        local = tmp_path / _NAME
        local.write_bytes(fs.cat_file(f"/reruns-wrapper/videos/{_NAME}"))
        assert decode(local).count == 11
    finally:
        fs.rm("/reruns-wrapper", recursive=True)


# -- the CLI: a fresh run folder without --out, the library's rule with it ------------------------
_SHORT = ("--episodes", "1", "--env-kwargs", '{"max_episode_steps": 8}')


def record(*args: object):
    from click.testing import CliRunner

    from rlvideo.cli import cli

    return CliRunner().invoke(cli, ["record", "CartPole-v1", *_SHORT, *map(str, args)])


def test_record_without_out_writes_a_fresh_run_folder_each_time(tmp_path, monkeypatch):
    import datetime

    from rlvideo.cli import record as record_command

    monkeypatch.chdir(tmp_path)
    second = datetime.datetime(2026, 12, 6, 10, 15, 0)
    monkeypatch.setattr(record_command, "_now", lambda: second)  # both runs in one second
    first, again = record(), record()
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [
        "CartPole-v1-20261206-101500",
        "CartPole-v1-20261206-101500-2",
    ]
    for folder, result in zip(sorted(runs.iterdir()), (first, again), strict=True):
        assert str(folder) in result.output  # the summary says where the videos went
        assert decode(folder / _NAME).count == 9
        assert (folder / "manifest.json").is_file()
    assert not (tmp_path / "videos").exists()


def test_a_run_folder_name_is_a_plain_folder_name():
    import datetime

    from rlvideo.cli.record import _run_folder

    when = datetime.datetime(2026, 12, 6, 10, 15, 0)
    assert _run_folder("ALE/Pong-v5", when) == Path("runs/ALE-Pong-v5-20261206-101500")
    assert _run_folder("my_envs:Maze-v0", when) == Path("runs/Maze-v0-20261206-101500")


def test_record_with_out_replaces_and_says_so_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    first = record("--out", tmp_path)
    assert first.exit_code == 0, first.output
    again = record("--out", tmp_path)
    assert again.exit_code == 0, again.output
    [message] = [r.getMessage() for r in caplog.records if "replace" in r.getMessage()]
    assert str(tmp_path) in message
    assert _NAME in message
    assert "--no-overwrite" in message
    assert "overwrite=False" not in message  # in the command's words
    assert decode(tmp_path / _NAME).count == 9


def test_record_no_overwrite_refuses_before_the_run(tmp_path):
    assert record("--out", tmp_path).exit_code == 0
    before = (tmp_path / _NAME).read_bytes()
    refused = record("--out", tmp_path, "--no-overwrite")
    assert refused.exit_code == 2, refused.output
    assert refused.output == (
        f"rlvideo: error: {tmp_path} already holds {_NAME}, which this run would write, and "
        "--no-overwrite keeps it: drop --no-overwrite to replace it, or choose another --out\n"
    )
    assert (tmp_path / _NAME).read_bytes() == before
    assert record("--out", tmp_path, "--overwrite").exit_code == 0


def test_a_store_that_cannot_be_listed_still_replaces(tmp_path, caplog, monkeypatch):
    fsspec = pytest.importorskip("fsspec")
    from rlvideo.errors import StorageError
    from rlvideo.storage import RemoteDestination

    caplog.set_level(logging.WARNING, logger="rlvideo")
    url = "memory://reruns-unlisted/videos"
    fs = fsspec.filesystem("memory")
    try:
        save_video(frames(40), url, fps=30)

        def no_listing(self):
            raise StorageError(f"cannot list {self.location}: AccessDenied")

        monkeypatch.setattr(RemoteDestination, "list_names", no_listing)
        save_video(frames(200, 4), url, fps=30)
        [message] = replacing_warnings(caplog)
        assert f"Overwriting existing videos in {url}: a video" in message
        local = tmp_path / _NAME
        local.write_bytes(fs.cat_file(f"/reruns-unlisted/videos/{_NAME}"))
        assert decode(local).count == 4
    finally:
        fs.rm("/reruns-unlisted", recursive=True)


def replay_run(
    folder: Path, steps: int, *, idle: bool = False, episodes: int = 3, meanwhile=None, **options
) -> list[Exception]:
    """``episodes`` CartPole episodes of ``steps`` steps, every one a ``replay=True`` video; the
    recording errors raised on the way (the run going on after each). ``idle``: the renderer
    has finished everything before each episode ends (the ended video is sent at once).
    ``meanwhile()`` is called once the first episode has begun."""
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(folder),
                      episode_trigger=lambda e: True, replay=True, **options)  # fmt: skip
    errors: list[Exception] = []

    def call(method, *args, **kwargs):
        try:
            method(*args, **kwargs)
        except Exception as exc:  # collected, asserted by the tests
            errors.append(exc)

    env.action_space.seed(0)
    for episode in range(episodes):
        call(env.reset, seed=episode)
        if episode == 0 and meanwhile is not None:
            meanwhile()
        for _ in range(steps):  # CartPole stands longer than 6 steps
            call(env.step, env.action_space.sample())
        if idle:
            env._recorder.poll_renders(wait=True)
    call(env.close)
    return errors


def test_rerunning_a_replay_script_replaces_its_videos_and_says_so_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rlvideo")
    assert replay_run(tmp_path, steps=6) == []
    assert replacing_warnings(caplog) == []
    assert replay_run(tmp_path, steps=3) == []  # the re-run: its names are checked as it sends
    [message] = replacing_warnings(caplog)
    assert str(tmp_path) in message
    for episode in range(3):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 4  # the re-run's


def test_replay_with_overwrite_false_refuses_at_the_reset_that_starts_the_video(tmp_path):
    assert replay_run(tmp_path, steps=6) == []
    before = (tmp_path / _NAME).read_bytes()
    errors = replay_run(tmp_path, steps=3, overwrite=False)
    assert len(errors) == 3  # every name taken: each reset refused its video
    assert all(isinstance(error, VideoExistsError) for error in errors)
    assert (tmp_path / _NAME).read_bytes() == before


@pytest.mark.parametrize("idle", [False, True])
def test_a_replayed_video_whose_name_is_a_folder_is_an_error_and_the_others_are_recorded(
    tmp_path, idle
):
    (tmp_path / "rl-video-episode-1.mp4").mkdir()
    errors = replay_run(tmp_path, steps=6, idle=idle)
    [error] = errors
    assert isinstance(error, StorageError)
    assert "rl-video-episode-1.mp4 is a folder" in str(error)
    assert (tmp_path / "rl-video-episode-1.mp4").is_dir()
    for episode in (0, 2):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 7


def test_a_replayed_name_error_at_close_still_renders_the_others(tmp_path):
    """render="close": the error is raised once every other video is rendered."""
    (tmp_path / "rl-video-episode-2.mp4").mkdir()
    [error] = replay_run(tmp_path, steps=6, idle=True, replay_options={"render": "close"})
    assert isinstance(error, StorageError)
    for episode in (0, 1):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 7


def test_with_log_all_a_dropped_video_keeps_its_episodes_replay_file(tmp_path):
    (tmp_path / "rl-video-episode-1.mp4").mkdir()
    [error] = replay_run(tmp_path, steps=6, replay_options={"log": "all"})
    assert isinstance(error, StorageError)
    assert sorted(p.name for p in tmp_path.glob("*.replay.npz")) == [
        f"rl-video-episode-{k}.replay.npz" for k in range(3)
    ]


def test_a_file_that_appears_during_a_replay_run_is_replaced_as_a_rerun_replaces(tmp_path):
    """The folder is listed as the run starts; a name taken later is the renderer's to check."""
    taken = tmp_path / "rl-video-episode-2.mp4"
    assert replay_run(tmp_path, steps=6, meanwhile=lambda: taken.write_bytes(b"not a video")) == []
    for episode in range(3):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 7


def test_a_folder_that_appears_during_a_replay_run_is_an_error_not_a_failed_replay(tmp_path):
    """The renderer refuses the name: the loop raises it, and the videos after it are still
    replayed (a failed replay would have sent them live, without replay files)."""
    taken = tmp_path / "rl-video-episode-1.mp4"
    errors = replay_run(tmp_path, steps=6, idle=True, episodes=4, meanwhile=taken.mkdir)
    [error] = errors
    assert isinstance(error, StorageError)
    assert "rl-video-episode-1.mp4 is a folder" in str(error)
    assert "rlvideo render" in str(error)
    assert taken.is_dir()
    assert sorted(p.name for p in tmp_path.glob("*.replay.npz")) == [
        f"rl-video-episode-{k}.replay.npz" for k in range(4)
    ]
    for episode in (0, 2, 3):
        assert decode(tmp_path / f"rl-video-episode-{episode}.mp4").count == 7
