"""rlvideo.distributed: Ray workers recording into one folder, the manifest, the name prefixes.

The Ray tests share one local Ray (2 CPUs, no dashboard, usage stats off) started once for the
module, and one 4 workers x 3 episodes run that several tests inspect. The object-store test
uploads to a moto S3 server on 127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rlvideo._core.metadata import VideoMetadata, sidecar_path
from rlvideo.cli.demo import balancing_policy
from rlvideo.distributed import (
    MANIFEST,
    env_runner_prefix,
    merge_manifest,
    record_rollouts,
    worker_prefix,
)
from rlvideo.errors import InvalidArgumentError, VideoExistsError
from tests.helpers import decode, moto_s3

gym = pytest.importorskip("gymnasium")

WORKERS, EPISODES, STEPS = 4, 3, 30


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # never phone home
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def recorded(
    ray_session: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[VideoMetadata]]:
    folder = tmp_path_factory.mktemp("distributed") / "videos"
    metas = record_rollouts(
        "CartPole-v1", balancing_policy, video_folder=folder, num_workers=WORKERS,
        episodes_per_worker=EPISODES, seed=100, env_kwargs={"max_episode_steps": STEPS},
        episode_trigger=lambda episode: True,
    )  # fmt: skip
    return folder, metas


def test_every_worker_records_every_episode_into_one_folder(recorded):
    folder, metas = recorded
    expected = {f"rl-video-w{k}-episode-{i}.mp4" for k in range(WORKERS) for i in range(EPISODES)}
    names = [Path(meta.path).name for meta in metas]
    assert len(names) == len(set(names)) == WORKERS * EPISODES
    assert set(names) == expected
    assert {p.name for p in folder.glob("*.mp4")} == expected
    assert all(Path(meta.path).parent == folder for meta in metas)
    # worker k runs seeds seed + k * episodes + i: all different, in order
    assert [meta.seed for meta in metas] == list(range(100, 100 + WORKERS * EPISODES))


def test_each_video_decodes_to_its_steps_plus_one_frames(recorded):
    _, metas = recorded
    for meta in metas:
        text = sidecar_path(meta.path).read_text(encoding="utf-8")
        sidecar = VideoMetadata.from_json(text, folder=Path(meta.path).parent)
        assert sidecar == meta
        video = decode(meta.path)
        assert video.count == sidecar.steps + 1 == sidecar.frames == STEPS + 1, meta.path
        assert (video.width, video.height) == (600, 400)
        assert video.fps == sidecar.fps == 50
        assert sidecar.env_id == "CartPole-v1"
        assert sidecar.truncated  # the balancing policy lasts until max_episode_steps


def test_manifest_merges_every_workers_sidecars(recorded):
    folder, metas = recorded
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    entries = manifest["videos"]
    assert len(entries) == WORKERS * EPISODES
    assert len({entry["path"] for entry in entries}) == len(entries)
    assert all((folder / entry["path"]).is_file() for entry in entries)  # relative paths
    by_path = {str(folder / entry["path"]): entry for entry in entries}
    for meta in metas:  # each entry is the video's sidecar, as `rlvideo record` writes them
        assert by_path[meta.path] == json.loads(sidecar_path(meta.path).read_text("utf-8"))
    assert [entry["path"] for entry in entries] == sorted(entry["path"] for entry in entries)


def test_gallery_shows_every_worker(recorded):
    pytest.importorskip("jinja2")
    from rlvideo.gallery import build_gallery

    folder, metas = recorded
    page = build_gallery(folder).read_text(encoding="utf-8")
    for meta in metas:
        assert Path(meta.path).name in page


def test_a_second_run_with_overwrite_false_is_refused_and_the_manifest_kept(ray_session, tmp_path):
    make = functools.partial(
        gym.make, "CartPole-v1", render_mode="rgb_array", max_episode_steps=10
    )  # an env factory instead of an id
    options: dict[str, Any] = {
        "video_folder": tmp_path, "num_workers": 2, "episodes_per_worker": 1,
        "episode_trigger": lambda episode: True, "name_prefix": "again",
        "record_kwargs": {"encoder": "thread"},
    }  # fmt: skip
    metas = record_rollouts(make, "random", **options)
    assert sorted(Path(meta.path).name for meta in metas) == [
        "again-w0-episode-0.mp4",
        "again-w1-episode-0.mp4",
    ]
    assert all(decode(meta.path).count == meta.steps + 1 for meta in metas)
    before = (tmp_path / MANIFEST).read_text(encoding="utf-8")

    with pytest.raises(VideoExistsError, match=r"again-w0-episode-0\.mp4"):
        record_rollouts(make, "random", **options, overwrite=False)
    assert json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8")) == json.loads(before)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "again-w0-episode-0.json",
        "again-w0-episode-0.mp4",
        "again-w0-episode-0.track.jsonl",
        "again-w1-episode-0.json",
        "again-w1-episode-0.mp4",
        "again-w1-episode-0.track.jsonl",
        MANIFEST,
    ]
    again = record_rollouts(make, "random", **options)  # the default: a re-run replaces them
    assert sorted(Path(meta.path).name for meta in again) == [
        "again-w0-episode-0.mp4",
        "again-w1-episode-0.mp4",
    ]
    assert all(decode(meta.path).count == meta.steps + 1 for meta in again)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert len(manifest["videos"]) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_workers": 0}, "num_workers must be an integer >= 1, got 0"),
        ({"episodes_per_worker": True}, "episodes_per_worker must be an integer >= 1"),
        ({"seed": "0"}, "seed must be an integer, got '0'"),
        ({"name_prefix": "a/b"}, "name_prefix 'a/b' holds a path separator"),
        ({"format": "avi"}, "avi"),
        ({"policy": "greedy"}, 'policy must be "random" or a callable'),
        ({"env_id": 3}, "env_id must be a Gymnasium env id or a function"),
        ({"episode_trigger": 5}, "episode_trigger must be a callable or None, got 5"),
        ({"record_kwargs": {"name_prefix": "x"}}, "record_kwargs must not set name_prefix"),
        ({"storage_options": {"anon": True}}, "storage_options apply to fsspec URLs"),
        ({"env_id": dict, "env_kwargs": {"a": 1}}, "env_kwargs are for gymnasium.make"),
        ({"storage_options": "anon"}, "storage_options must be a dict of fsspec options"),
    ],
)
def test_arguments_are_checked_before_ray_starts(changes, message, tmp_path):
    arguments: dict[str, Any] = {"env_id": "CartPole-v1", "policy": "random"}
    arguments.update(changes)
    with pytest.raises(InvalidArgumentError, match=message):
        record_rollouts(video_folder=tmp_path, **arguments)
    assert list(tmp_path.iterdir()) == []


# -- name prefixes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("rl-video", 0), "rl-video-w0"),
        (("rl-video", 11), "rl-video-w11"),
        (("ppo", 2, 0), "ppo-w2-v0"),
        (("ppo", 2, 3), "ppo-w2-v3"),
    ],
)
def test_worker_prefix(arguments, expected):
    assert worker_prefix(*arguments) == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("x", -1), "worker_index must be an integer >= 0, got -1"),
        (("x", 0, -2), "vector_index must be an integer >= 0, got -2"),
        (("x", True), "worker_index must be an integer >= 0, got True"),
        (("..", 0), "path separator"),
    ],
)
def test_worker_prefix_rejects(arguments, message):
    with pytest.raises(InvalidArgumentError, match=message):
        worker_prefix(*arguments)


def test_env_runner_prefix_is_unique_in_a_process():
    prefix = f"t{uuid.uuid4().hex[:8]}"
    # RLlib's new API stack: every sub-env of a runner gets vector_index 0
    new_stack = [env_runner_prefix(SimpleNamespace(worker_index=1, vector_index=0), prefix)]
    new_stack += [env_runner_prefix(SimpleNamespace(worker_index=1, vector_index=0), prefix)]
    assert new_stack == [f"{prefix}-w1-v0", f"{prefix}-w1-v1"]
    # the old stack numbers them; another worker index is another name space
    old_stack = [env_runner_prefix(SimpleNamespace(worker_index=2, vector_index=i), prefix)
                 for i in range(3)]  # fmt: skip
    assert old_stack == [f"{prefix}-w2-v0", f"{prefix}-w2-v1", f"{prefix}-w2-v2"]
    # the local runner (worker 0), or a context without the attributes
    assert env_runner_prefix({}, prefix) == f"{prefix}-w0-v0"
    assert env_runner_prefix(SimpleNamespace(worker_index=0), prefix) == f"{prefix}-w0-v1"


# -- merge_manifest -----------------------------------------------------------------------------
def _fake_video(folder: Path, name: str, *, sidecar: bool = True) -> VideoMetadata:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"not really a video")
    meta = VideoMetadata(path=str(folder / name), kind="episode", steps=len(name))
    if sidecar:
        sidecar_path(folder / name).write_text(meta.to_json(), encoding="utf-8")
    return meta


def _manifest_names(manifest: str | Path) -> list[str]:
    entries = json.loads(Path(manifest).read_text(encoding="utf-8"))["videos"]
    return [Path(entry["path"]).name for entry in entries]


def test_merge_manifest_scans_the_sidecars_of_finished_videos(tmp_path, caplog):
    _fake_video(tmp_path, "a-w0-episode-0.mp4")
    _fake_video(tmp_path, "broken.mp4", sidecar=False)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    _fake_video(tmp_path, "a-w1-episode-0.webm")
    _fake_video(tmp_path, "no-sidecar.mp4", sidecar=False)
    _fake_video(tmp_path, "a-w2-episode-0.incomplete.mp4")  # kept after an error
    _fake_video(tmp_path, ".a-w3-episode-0.partial.mp4")  # a writer still running
    manifest = merge_manifest(tmp_path)
    assert manifest == str(tmp_path / MANIFEST)
    assert _manifest_names(manifest) == ["a-w0-episode-0.mp4", "a-w1-episode-0.webm"]
    assert "skipped" in caplog.text
    assert "broken.json: not a JSON sidecar" in caplog.text


def test_merge_manifest_keeps_old_entries_replaces_by_name_drops_deleted(tmp_path):
    old = [_fake_video(tmp_path, f"run1-episode-{i}.mp4") for i in range(3)]
    merge_manifest(tmp_path, old)
    Path(old[1].path).unlink()
    renewed = VideoMetadata(path=old[0].path, kind="episode", steps=999)
    new = _fake_video(tmp_path, "run2-episode-0.mp4", sidecar=False)
    merge_manifest(tmp_path, [renewed, new.to_dict()])
    entries = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["videos"]
    assert [Path(e["path"]).name for e in entries] == [
        "run1-episode-0.mp4",
        "run1-episode-2.mp4",
        "run2-episode-0.mp4",
    ]
    assert entries[0]["steps"] == 999
    assert not list(tmp_path.glob(".*.tmp"))


def test_merge_manifest_refuses_a_foreign_manifest_json(tmp_path):
    (tmp_path / MANIFEST).write_text('{"videos": [{"name": "x"}]}', encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match="is not an rlvideo manifest"):
        merge_manifest(tmp_path)


def test_merge_manifest_on_an_fsspec_url():
    fsspec = pytest.importorskip("fsspec")
    root = f"memory://rlvideo-test-{uuid.uuid4().hex[:8]}/videos"
    fs = fsspec.filesystem("memory")
    try:
        for name in ("b-w0-episode-0", "b-w1-episode-0"):
            meta = VideoMetadata(path=f"{root}/{name}.mp4", kind="episode")
            fs.pipe_file(f"{root}/{name}.mp4", b"video")
            fs.pipe_file(f"{root}/{name}.json", meta.to_json().encode())
        fs.pipe_file(f"{root}/.b-w2-episode-0.partial.mp4", b"half")
        manifest = merge_manifest(root)
        assert manifest == f"{root}/{MANIFEST}"
        entries = json.loads(fs.cat_file(manifest))["videos"]
        assert [entry["path"] for entry in entries] == ["b-w0-episode-0.mp4", "b-w1-episode-0.mp4"]
    finally:
        fs.rm(root.split("/videos")[0], recursive=True)


def test_starts_ray_when_it_is_not_running_and_stops_it_after(tmp_path):
    code = (
        "import ray\n"
        "from rlvideo.distributed import record_rollouts\n"
        f"metas = record_rollouts('CartPole-v1', video_folder={str(tmp_path)!r}, num_workers=1,\n"
        "    episodes_per_worker=1, env_kwargs={'max_episode_steps': 5},\n"
        "    episode_trigger=lambda e: True)\n"
        "print(len(metas), ray.is_initialized())\n"
    )
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)  # a new local cluster, not the module's
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["1", "False"]
    assert decode(tmp_path / "rl-video-w0-episode-0.mp4").count == 6
    assert _manifest_names(tmp_path / MANIFEST) == ["rl-video-w0-episode-0.mp4"]


# -- an object store: the URL and storage_options go through to every worker ---------------------
@pytest.fixture
def s3_server() -> Iterator[dict[str, Any]]:
    """A loopback S3 server (moto, 127.0.0.1) with a bucket; yields the storage_options."""
    s3fs = pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    with moto_s3() as port:
        options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "testing", "secret": "x"}
        s3fs.S3FileSystem(**options).mkdir("rlvideo-bucket")
        yield options


def test_workers_upload_to_an_s3_url_and_the_manifest_lands_beside(ray_session, s3_server):
    import s3fs

    url = "s3://rlvideo-bucket/videos"
    metas = record_rollouts(
        "CartPole-v1", balancing_policy, video_folder=url, num_workers=2,
        episodes_per_worker=2, env_kwargs={"max_episode_steps": 10},
        episode_trigger=lambda episode: True, storage_options=s3_server,
    )  # fmt: skip
    expected = [f"{url}/rl-video-w{k}-episode-{i}.mp4" for k in range(2) for i in range(2)]
    assert [meta.path for meta in metas] == expected
    fs = s3fs.S3FileSystem(**s3_server)
    entries = json.loads(fs.cat_file("rlvideo-bucket/videos/manifest.json"))["videos"]
    assert [entry["path"] for entry in entries] == [p.rsplit("/", 1)[1] for p in expected]
    for meta in metas:
        local = Path(f"{Path(meta.path).stem}.mp4")
        fs.get(meta.path, str(local))
        assert decode(local).count == meta.steps + 1 == 11


def test_replays_render_on_ray_tasks(ray_session: Any, tmp_path: Path) -> None:
    """Issue 23's fan-out: replay files logged in the loop, rendered by Ray tasks."""
    from rlvideo import RecordVideo
    from rlvideo.distributed import render_replays

    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path),
                      episode_trigger=lambda e: True, metadata=True, replay=True,
                      replay_options={"render": "none"})  # fmt: skip
    env.reset(seed=0)
    for _ in range(3):
        for _ in range(50):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        env.reset()
    env.close()
    assert not list(tmp_path.glob("*.mp4"))
    results = render_replays(tmp_path)
    assert len(results) == 4  # three episodes, and the one frame of the last reset
    assert all(result.verified for result in results)
    for result in results:
        meta = json.loads(Path(result.path).with_suffix(".json").read_text())
        assert meta["frames"] == decode(result.path).count == result.metadata().frames


def test_replay_workers_ray_renders_what_live_recording_writes(
    ray_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``replay_options={"workers": "ray"}``: each video rendered by a Ray task, as live."""
    import numpy as np

    from rlvideo import RecordVideo
    from rlvideo.wrappers import _replaying

    def run(folder: Path, **options: Any) -> None:
        env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=25)
        env = RecordVideo(env, str(folder), episode_trigger=lambda e: e != 1, metadata=True,
                          track=True, **options)  # fmt: skip
        env.action_space.seed(3)
        for episode in range(3):
            env.reset(seed=None if episode == 2 else episode)  # the last from a mid-run RNG
            done = False
            while not done:
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                done = terminated or truncated
        env.close()

    run(tmp_path / "live")

    def no_processes(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("workers='ray' started renderer processes")

    monkeypatch.setattr(_replaying, "RenderPool", no_processes)
    run(tmp_path / "ray", replay=True, replay_options={"workers": "ray"})
    assert ray_session.is_initialized()  # started by the fixture: the wrapper leaves it running
    names = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert names == ["rl-video-episode-0.mp4", "rl-video-episode-2.mp4"]
    assert sorted(p.name for p in (tmp_path / "ray").glob("*.mp4")) == names
    for name in names:
        live, replayed = decode(tmp_path / "live" / name), decode(tmp_path / "ray" / name)
        assert replayed.count == live.count > 1
        difference = np.abs(np.stack(live.frames).astype(int) - np.stack(replayed.frames))
        assert difference.mean() < 1, name
        sidecar = json.loads((tmp_path / "ray" / name).with_suffix(".json").read_text())
        assert sidecar["replay"]["verified"] is True
        track = (tmp_path / "ray" / name).with_suffix(".track.jsonl").read_text()
        assert track == (tmp_path / "live" / name).with_suffix(".track.jsonl").read_text()
