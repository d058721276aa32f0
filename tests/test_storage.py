"""Videos to fsspec URLs: a real S3 server (moto) on 127.0.0.1, and fsspec's memory://.

Every object written is downloaded and decoded with PyAV. A guard refuses any connection or
name lookup other than the loopback address, and the AWS environment holds dummy values only,
so nothing here can reach the real AWS.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, ClassVar

import av
import fsspec
import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner
from fsspec.implementations.memory import MemoryFileSystem

from rlvideo import RecordVideo, save_video
from rlvideo.cli import cli
from rlvideo.cli.demo import balancing_policy
from rlvideo.errors import (
    InvalidArgumentError,
    InvalidFrameError,
    MissingDependencyError,
    StorageError,
    VideoExistsError,
)
from rlvideo.recording._recorder import Recorder
from rlvideo.storage import (
    LocalDestination,
    RemoteDestination,
    is_url,
    open_destination,
    resolve_location,
)
from rlvideo.wrappers.vector import RecordVideo as VectorRecordVideo
from tests.helpers import decode, folder_names, gradient_frames, rms

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_port():
    """A moto S3 server on 127.0.0.1 at a free port, for the whole session."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield port
    server.stop()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch, tmp_path):
    """Dummy AWS settings, no config files, and no connection or lookup beyond 127.0.0.1."""
    dummy = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for name, value in dummy.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address):
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise ConnectionRefusedError(f"test guard: refusing to contact {address[0]}")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise socket.gaierror(f"test guard: refusing to look up {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """The temp folder, where remote destinations stage their files: empty after each test."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


class Bucket:
    """A fresh bucket on the moto server, and the means to look inside it."""

    def __init__(self, port: int) -> None:
        self.options = {
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
            "key": "testing",
            "secret": "testing",
        }
        self.name = f"rlvideo-{uuid.uuid4().hex[:12]}"
        self.fs = s3fs.S3FileSystem(**self.options)
        self.fs.mkdir(self.name)

    def url(self, prefix: str) -> str:
        return f"s3://{self.name}/{prefix}"

    def names(self, prefix: str) -> set[str]:
        """Every object under the prefix, sub-folders included, relative to it."""
        self.fs.invalidate_cache()
        root = f"{self.name}/{prefix}/"
        return {key[len(root) :] for key in self.fs.find(root)}

    def get(self, prefix: str, name: str) -> bytes:
        return self.fs.cat_file(f"{self.name}/{prefix}/{name}")

    def put(self, prefix: str, name: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.name}/{prefix}/{name}", data)


@pytest.fixture
def bucket(s3_port):
    return Bucket(s3_port)


def decode_bytes(data: bytes, tmp_path: Path, name: str):
    """Decode a downloaded video with PyAV (through a file, as a user would)."""
    path = tmp_path / "downloaded" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return decode(path)


def assert_empty(folder: Path) -> None:
    assert [p.relative_to(folder) for p in folder.rglob("*")] == []


def cartpole(max_steps: int):
    return gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=max_steps)


def run_episodes(env, episodes: int) -> None:
    env.action_space.seed(0)
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated


# -- the guard itself -----------------------------------------------------------------------------
def test_the_guard_refuses_anything_but_loopback():
    with pytest.raises(OSError, match="test guard"):
        socket.create_connection(("10.255.255.1", 443), timeout=1)
    with pytest.raises(OSError, match="test guard"):
        socket.getaddrinfo("s3.amazonaws.com", 443)


# -- save_video -----------------------------------------------------------------------------------
def test_save_video_to_s3_episode_and_step_clips(bucket, staging, tmp_path):
    frames = gradient_frames(30)
    urls = save_video(
        frames, bucket.url("runs"), episode_trigger=lambda e: True,
        step_trigger=lambda s: s % 10 == 0, video_length=8, fps=10,
        storage_options=bucket.options,
    )  # fmt: skip
    names = ["rl-video-episode-0.mp4", "rl-video-step-0.mp4", "rl-video-step-10.mp4",
             "rl-video-step-20.mp4"]  # fmt: skip
    assert urls == [f"{bucket.url('runs')}/{name}" for name in names]
    assert all(isinstance(url, str) for url in urls)
    assert bucket.names("runs") == set(names)  # nothing else: no temporary or partial objects
    starts = {"rl-video-episode-0.mp4": 0, "rl-video-step-0.mp4": 1,
              "rl-video-step-10.mp4": 11, "rl-video-step-20.mp4": 21}  # fmt: skip
    for name, start in starts.items():
        video = decode_bytes(bucket.get("runs", name), tmp_path, name)
        assert video.count == 8, name
        assert (video.width, video.height, video.fps) == (64, 48, 10)
        errors = [rms(a, b) for a, b in zip(video.frames, frames[start : start + 8], strict=True)]
        assert max(errors) < 6, name
    assert_empty(staging)  # the local staging folder was removed after the uploads


def test_a_failure_midway_uploads_what_was_recorded(bucket, staging, tmp_path):
    frames = gradient_frames(30)
    frames[15] = np.zeros((10, 10, 3), np.uint8)  # a frame of another size: recording stops
    with pytest.raises(InvalidFrameError, match="frame"):
        save_video(frames, bucket.url("midway"), step_trigger=lambda s: s % 10 == 0,
                   video_length=8, fps=10, storage_options=bucket.options)  # fmt: skip
    # the complete clip under its name, the clip in progress as incomplete; nothing else
    assert bucket.names("midway") == {"rl-video-step-0.mp4", "rl-video-step-10.incomplete.mp4"}
    assert decode_bytes(bucket.get("midway", "rl-video-step-0.mp4"), tmp_path, "a.mp4").count == 8
    incomplete = bucket.get("midway", "rl-video-step-10.incomplete.mp4")
    assert decode_bytes(incomplete, tmp_path, "b.mp4").count == 4  # frames 11 to 14
    assert_empty(staging)


def test_memory_url_works_without_a_server(staging, tmp_path, monkeypatch):
    fs = fsspec.filesystem("memory")
    moves = []
    real_mv = type(fs).mv
    monkeypatch.setattr(
        type(fs), "mv", lambda self, a, b, **k: (moves.append((a, b)), real_mv(self, a, b, **k))[1]
    )
    url = f"memory://rlvideo-test-{uuid.uuid4().hex[:8]}/videos"
    try:
        saved = save_video([np.full((32, 48, 3), 9 * i, np.uint8) for i in range(12)], url, fps=5)
        assert saved == [f"{url}/rl-video-episode-0.mp4"]
        root = url[len("memory://") :]
        assert sorted(fs.find(f"/{root}")) == [f"/{root}/rl-video-episode-0.mp4"]
        # not an object store: uploaded under a hidden name, then renamed
        assert len(moves) == 1
        assert "/.rl-video-episode-0.mp4." in moves[0][0]
        video = decode_bytes(fs.cat_file(f"/{root}/rl-video-episode-0.mp4"), tmp_path, "m.mp4")
        assert (video.count, video.width, video.height, video.fps) == (12, 48, 32, 5)
        assert_empty(staging)
    finally:
        fs.rm(f"/{url[len('memory://') :].split('/')[0]}", recursive=True)


def test_existing_key_is_an_error_before_anything_is_written_with_overwrite_false(
    bucket, staging, tmp_path
):
    bucket.put("runs", "rl-video-episode-0.mp4", b"an older video")
    with pytest.raises(VideoExistsError, match=r"s3://.*/runs/rl-video-episode-0\.mp4 already "
                       r"exists\. Pass overwrite=True"):  # fmt: skip
        save_video(
            gradient_frames(5), bucket.url("runs"), storage_options=bucket.options, overwrite=False
        )
    assert bucket.names("runs") == {"rl-video-episode-0.mp4"}
    assert bucket.get("runs", "rl-video-episode-0.mp4") == b"an older video"
    assert_empty(staging)

    save_video(gradient_frames(5), bucket.url("runs"), overwrite=True, fps=10,
               storage_options=bucket.options)  # fmt: skip
    replaced = decode_bytes(bucket.get("runs", "rl-video-episode-0.mp4"), tmp_path, "r.mp4")
    assert replaced.count == 5
    assert_empty(staging)


def test_upload_failure_keeps_the_local_file_and_names_it(s3_port, staging, tmp_path):
    options = {"client_kwargs": {"endpoint_url": f"http://127.0.0.1:{s3_port}"},
               "key": "testing", "secret": "testing"}  # fmt: skip
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/runs"
    with pytest.raises(StorageError, match=r"could not upload .* to s3://no-such-bucket") as caught:
        save_video(gradient_frames(7), url, fps=10, storage_options=options)
    kept = Path(str(caught.value).rsplit("The file is kept at ", 1)[1].rstrip("."))
    assert kept.is_relative_to(staging)
    assert decode(kept).count == 7  # the video is whole, not lost


def test_a_local_path_is_unchanged_and_rejects_storage_options(tmp_path, staging):
    saved = save_video(gradient_frames(4), tmp_path / "local", fps=10)
    assert saved == [tmp_path / "local" / "rl-video-episode-0.mp4"]
    assert isinstance(saved[0], Path)
    with pytest.raises(InvalidArgumentError, match="storage_options apply to fsspec URLs"):
        save_video(gradient_frames(4), tmp_path / "other", storage_options={"key": "k"})
    saved = save_video(gradient_frames(4), f"file://{tmp_path}/by-url", fps=10)
    assert saved == [tmp_path / "by-url" / "rl-video-episode-0.mp4"]
    assert decode(saved[0]).count == 4
    assert_empty(staging)  # written in place: no staging


def test_destinations_and_urls():
    assert isinstance(open_destination("videos"), LocalDestination)
    assert isinstance(open_destination("file:///tmp/videos"), LocalDestination)
    assert isinstance(open_destination("memory://x"), RemoteDestination)
    assert [is_url(x) for x in ("s3://b/p", "gs://b", "simplecache::s3://b", "a/b", "C:/v")] == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert resolve_location("s3://bucket/prefix///") == "s3://bucket/prefix"
    with pytest.raises(InvalidArgumentError, match="storage_options must be a dict"):
        open_destination("memory://x", storage_options="secret")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="Protocol not known"):
        open_destination("nosuchprotocol://x")


@pytest.mark.skipif(bool(__import__("importlib.util").util.find_spec("gcsfs")), reason="gcsfs")
def test_missing_filesystem_package_names_it():
    with pytest.raises(MissingDependencyError, match="gcsfs"):
        open_destination("gs://bucket/videos")


# -- the wrappers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_record_video_to_s3_with_sidecars(bucket, staging, tmp_path, encoder):
    url = bucket.url(f"wrapped-{encoder}")
    saved = []
    env = RecordVideo(
        cartpole(20), url, episode_trigger=lambda e: e < 2, metadata=True, encoder=encoder,
        on_video_saved=lambda path, meta: saved.append((path, meta)),
        storage_options=bucket.options,
    )  # fmt: skip
    assert env.video_folder == url
    run_episodes(env, 3)
    env.close()
    names = {"rl-video-episode-0.mp4", "rl-video-episode-0.json",
             "rl-video-episode-0.track.jsonl",
             "rl-video-episode-1.mp4", "rl-video-episode-1.json",
             "rl-video-episode-1.track.jsonl"}  # fmt: skip
    assert bucket.names(f"wrapped-{encoder}") == names
    expected = [f"{url}/rl-video-episode-{i}.mp4" for i in range(2)]
    assert [path for path, _ in saved] == expected == env.saved_videos
    for path, meta in saved:
        name = path.rsplit("/", 1)[1]
        video = decode_bytes(bucket.get(f"wrapped-{encoder}", name), tmp_path, name)
        assert (video.width, video.height, video.fps) == (600, 400, 50)
        sidecar = json.loads(bucket.get(f"wrapped-{encoder}", name.replace(".mp4", ".json")))
        assert sidecar["path"] == name  # relative to its folder
        assert meta.path == path
        assert sidecar["frames"] == meta.frames == video.count == meta.steps + 1
    assert_empty(staging)


def test_replayed_videos_land_in_s3_with_their_replay_files(bucket, staging, tmp_path):
    """Issue 23: replay=True to a URL: the renderer uploads each video, its sidecar and track;
    the wrapper uploads each replay file; the hand-off gets the URLs; staging ends empty."""
    url = bucket.url("replayed")
    saved = []
    env = RecordVideo(
        cartpole(20), url, episode_trigger=lambda e: e < 2, metadata=True, replay=True,
        on_video_saved=lambda path, meta: saved.append((path, meta)),
        storage_options=bucket.options,
    )  # fmt: skip
    run_episodes(env, 3)
    env.close()
    stems = [f"rl-video-episode-{i}" for i in range(2)]
    suffixes = (".mp4", ".json", ".track.jsonl", ".replay.npz")
    assert bucket.names("replayed") == {stem + suffix for stem in stems for suffix in suffixes}
    assert sorted(path for path, _ in saved) == [f"{url}/{stem}.mp4" for stem in stems]
    for path, meta in saved:
        name = path.rsplit("/", 1)[1]
        video = decode_bytes(bucket.get("replayed", name), tmp_path, name)
        sidecar = json.loads(bucket.get("replayed", name.replace(".mp4", ".json")))
        assert sidecar["replay"]["verified"] is True
        assert sidecar["frames"] == meta.frames == video.count == meta.steps + 1
    assert_empty(staging)


def test_a_key_taken_before_the_start_is_never_replaced_with_overwrite_false(
    bucket, staging, caplog
):
    """The env loop never asks the store (see the hung store below): the key is checked in the
    background, a warning says it is taken, the video is recorded and kept locally, named by the
    VideoExistsError raised when it ends; the older object is untouched."""
    bucket.put("taken", "rl-video-episode-0.mp4", b"older")
    env = RecordVideo(cartpole(10), bucket.url("taken"), episode_trigger=lambda e: e == 0,
                      encoder="thread", storage_options=bucket.options,
                      overwrite=False)  # fmt: skip
    run_episodes(env, 1)
    with pytest.raises(VideoExistsError, match="The new file is kept at") as caught:
        env.close()
    url = bucket.url("taken/rl-video-episode-0.mp4")
    assert f"{url} already exists: the video being recorded" in caplog.text
    assert bucket.names("taken") == {"rl-video-episode-0.mp4"}
    assert bucket.get("taken", "rl-video-episode-0.mp4") == b"older"
    kept = Path(str(caught.value).rsplit("kept at ", 1)[1].rstrip("."))
    assert kept.is_relative_to(staging)
    assert decode(kept).count == 11


def test_a_key_taken_during_the_video_is_checked_again_before_upload(bucket, staging):
    """With overwrite=False. (The default replaces a taken key, as it does when it starts.)"""
    env = RecordVideo(cartpole(10), bucket.url("race"), episode_trigger=lambda e: e == 0,
                      encoder="thread", storage_options=bucket.options,
                      overwrite=False)  # fmt: skip
    env.reset(seed=0)
    bucket.put("race", "rl-video-episode-0.mp4", b"written by someone else meanwhile")
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
    with pytest.raises(VideoExistsError, match="The new file is kept at") as caught:
        env.close()
    assert bucket.get("race", "rl-video-episode-0.mp4") == b"written by someone else meanwhile"
    kept = Path(str(caught.value).rsplit("kept at ", 1)[1].rstrip("."))
    assert kept.is_relative_to(staging)
    assert decode(kept).count == 11


def test_overwrite_replaces_a_remote_video(bucket, staging, tmp_path):
    bucket.put("again", "rl-video-episode-0.mp4", b"older")
    env = RecordVideo(cartpole(10), bucket.url("again"), episode_trigger=lambda e: e == 0,
                      encoder="thread", overwrite=True, storage_options=bucket.options)  # fmt: skip
    run_episodes(env, 1)
    env.close()
    video = decode_bytes(bucket.get("again", "rl-video-episode-0.mp4"), tmp_path, "a.mp4")
    assert video.count == 11
    assert_empty(staging)


def test_a_failed_upload_from_a_wrapper_is_raised_and_the_video_kept(bucket, staging, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("the network is down")

    env = RecordVideo(cartpole(10), bucket.url("down"), episode_trigger=lambda e: e == 0,
                      encoder="thread", metadata=True, storage_options=bucket.options)  # fmt: skip
    assert env._recorder.destination.fs is bucket.fs  # fsspec shares one instance per options
    monkeypatch.setattr(bucket.fs, "put_file", refuse)
    run_episodes(env, 1)
    message = (
        r"could not upload .*rl-video-episode-0\.mp4 to s3://.*/down/rl-video-episode-0\.mp4: "
        r"ConnectionError: the network is down\. The file is kept at "
    )
    with pytest.raises(StorageError, match=message) as caught:
        env.close()
    kept = Path(str(caught.value).rsplit("The file is kept at ", 1)[1].rstrip("."))
    assert kept.is_relative_to(staging)
    assert decode(kept).count == 11
    assert bucket.names("down") == set()  # neither the video nor its sidecar


def test_vector_per_env_to_s3(bucket, staging, tmp_path):
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                        render_mode="rgb_array", max_episode_steps=10)  # fmt: skip
    saved = []
    envs = VectorRecordVideo(
        envs, bucket.url("vector"), per_env=True, episode_trigger=lambda e: e == 0,
        encoder="thread", on_video_saved=lambda path, meta: saved.append(path),
        storage_options=bucket.options,
    )  # fmt: skip
    observations, _ = envs.reset(seed=0)
    for _ in range(15):  # balanced: every episode runs its 10 steps, so each video has 11 frames
        observations, *_ = envs.step(np.array([balancing_policy(o) for o in observations]))
    envs.close()
    names = {f"rl-video-env-{k}-episode-0.mp4" for k in range(2)}
    assert bucket.names("vector") == names
    assert sorted(saved) == sorted(f"{bucket.url('vector')}/{name}" for name in names)
    for name in names:
        video = decode_bytes(bucket.get("vector", name), tmp_path, name)
        assert (video.count, video.width, video.height) == (11, 600, 400)
    assert_empty(staging)


def test_sb3_recorder_to_s3(bucket, staging, tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    venv = DummyVecEnv([lambda: cartpole(500)] * 2)
    venv = VecVideoRecorder(venv, bucket.url("sb3"), lambda step: step == 0, video_length=5,
                            encoder="thread", storage_options=bucket.options)  # fmt: skip
    venv.reset()
    for _ in range(8):
        venv.step(np.array([0, 1]))
    assert venv.video_path == f"{bucket.url('sb3')}/rl-video-step-0-to-step-5.mp4"
    venv.close()
    assert venv.saved_videos == [venv.video_path]
    video = decode_bytes(bucket.get("sb3", "rl-video-step-0-to-step-5.mp4"), tmp_path, "s.mp4")
    assert (video.count, video.width, video.height) == (6, 600, 800)  # SB3 tiles 2 envs in a column
    assert_empty(staging)


def test_an_aborted_video_is_uploaded_as_incomplete(staging, tmp_path):
    url = f"memory://rlvideo-test-{uuid.uuid4().hex[:8]}"
    recorder = Recorder(
        url, name_prefix="x", fps=10, format="mp4", codec=None, crf=None, overwrite=False,
        metadata=True, on_video_saved=None, keep_if=None, encoder="thread", env_id=None,
    )  # fmt: skip
    video = recorder.start("x-episode-0", kind="episode", episode=0, first_step=0)
    for frame in gradient_frames(6):
        recorder.frame(video, frame)
    recorder.abort()
    fs = fsspec.filesystem("memory")
    root = url[len("memory://") :]
    try:
        assert sorted(fs.find(f"/{root}")) == [
            f"/{root}/x-episode-0.incomplete.mp4",
            f"/{root}/x-episode-0.incomplete.track.jsonl",
        ]
        data = fs.cat_file(f"/{root}/x-episode-0.incomplete.mp4")
        assert decode_bytes(data, tmp_path, "i.mp4").count == 6
        assert recorder.saved == []
        assert_empty(staging)
    finally:
        fs.rm(f"/{root}", recursive=True)


# -- the CLI --------------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_record_and_gallery_on_s3(bucket, staging, tmp_path):
    url, options = bucket.url("cli"), json.dumps(bucket.options)
    result = invoke(
        "record", "CartPole-v1", "--episodes", 2, "--every", 1, "--out", url,
        "--storage-options", options, "--env-kwargs", '{"max_episode_steps": 15}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"2 video(s) in {url}; manifest: {url}/manifest.json" in result.output
    videos = {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    sidecars = {"rl-video-episode-0.json", "rl-video-episode-1.json"}
    tracks = {"rl-video-episode-0.track.jsonl", "rl-video-episode-1.track.jsonl"}
    assert bucket.names("cli") == videos | sidecars | tracks | {"manifest.json"}
    manifest = json.loads(bucket.get("cli", "manifest.json"))
    assert [entry["path"] for entry in manifest["videos"]] == sorted(videos)
    for entry in manifest["videos"]:
        name = entry["path"]
        assert decode_bytes(bucket.get("cli", name), tmp_path, name).count == entry["frames"] > 1

    result = invoke("gallery", url, "--storage-options", options, "--title", "Remote")
    assert result.exit_code == 0, result.output
    assert f"gallery: {url}/index.html" in result.output
    posters = {f"posters/{v}.png" for v in videos}
    assert bucket.names("cli") == (
        videos | sidecars | tracks | {"manifest.json", "index.html"} | posters
    )
    page = bucket.get("cli", "index.html").decode()
    assert "<title>Remote" in page
    assert 'href="rl-video-episode-1.mp4"' in page
    assert 'img src="posters/' in page
    for poster in posters:
        with av.open(str(decode_target(tmp_path, bucket.get("cli", poster)))) as container:
            frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (600, 400)
    assert_empty(staging)


def decode_target(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"poster-{uuid.uuid4().hex[:6]}.png"
    path.write_bytes(data)
    return path


def test_cli_keep_best_on_memory(staging):
    url = f"memory://rlvideo-test-{uuid.uuid4().hex[:8]}/best"
    result = invoke(
        "record", "CartPole-v1", "--episodes", 3, "--every", 1, "--out", url, "--keep", "best",
        "--env-kwargs", '{"max_episode_steps": 12}', "--policy", "rlvideo.demo:balancing_policy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    destination = open_destination(url)
    names = destination.list_names()
    manifest = json.loads(destination.read_text("manifest.json") or "{}")
    assert len(manifest["videos"]) == sum(name.endswith(".mp4") for name in names) >= 1
    assert {n for n in names if n.endswith(".json")} - {"manifest.json"} == {
        n.replace(".mp4", ".json") for n in names if n.endswith(".mp4")
    }
    fsspec.filesystem("memory").rm(url[len("memory://") :].split("/")[0], recursive=True)
    assert_empty(staging)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "memory://x", "--storage-options", '["secret"]'], "must be a JSON object"),
        (["--out", "memory://x", "--storage-options", "{secret"], "is not valid JSON"),
        (["--out", "local", "--storage-options", "{}"], None),
        (["--out", "local", "--storage-options", '{"key": "k"}'], "apply to fsspec URLs"),
    ],
)
def test_cli_storage_option_errors(args, message, tmp_path):
    record = ["record", "CartPole-v1", "--episodes", 1, "--env-kwargs", '{"max_episode_steps": 3}']
    result = CliRunner().invoke(cli, [*record, *args])
    if message is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    assert message in result.output
    assert "secret" not in result.output  # storage options may hold credentials: never echoed


def test_file_urls_are_percent_decoded(tmp_path):
    """Issue 9, defect 5: file:///tmp/my%20videos is the folder '/tmp/my videos'."""
    url = (tmp_path / "my videos").as_uri()
    assert "%20" in url
    saved = save_video(gradient_frames(3), url, fps=10)
    assert saved == [tmp_path / "my videos" / "rl-video-episode-0.mp4"]
    assert decode(saved[0]).count == 3
    assert folder_names(tmp_path) == {"my videos"}
    assert resolve_location(url) == str(tmp_path / "my videos")
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=3)
    env = RecordVideo(env, url, name_prefix="wrapped")
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    env.close()
    assert decode(tmp_path / "my videos" / "wrapped-episode-0.mp4").count == 4


def test_a_file_url_with_a_remote_host_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="must be local"):
        save_video(gradient_frames(1), "file://elsewhere/videos")


# -- a hung store ---------------------------------------------------------------------------------
class HungStore(MemoryFileSystem):
    """A store whose "does this key exist" hangs until the test lets it go, and which records
    any call made from the env loop's thread (there must be none)."""

    protocol = "rlvideo-hung"
    store: ClassVar[dict[str, Any]] = {}  # its own, not memory://'s
    pseudo_dirs: ClassVar[list[str]] = [""]
    released = threading.Event()
    env_thread: threading.Thread | None = None
    asked_by_the_env_loop: ClassVar[list[str]] = []

    def exists(self, path, **kwargs):
        if threading.current_thread() is self.env_thread:
            self.asked_by_the_env_loop.append(path)
            raise RuntimeError("the env loop asked the store")
        self.released.wait()
        return super().exists(path, **kwargs)


@pytest.fixture
def hung_store():
    fsspec.register_implementation(HungStore.protocol, HungStore, clobber=True)
    HungStore.store.clear()
    HungStore.released.clear()
    HungStore.asked_by_the_env_loop.clear()
    yield HungStore
    HungStore.released.set()  # never left hanging past the test


def test_a_hung_store_never_stalls_the_env_loop(hung_store, staging, tmp_path):
    """The check that a key is free runs off the env loop: ``reset()`` and ``step()`` return
    while the store hangs; the videos are uploaded once it answers."""
    env = RecordVideo(cartpole(10), "rlvideo-hung://runs", episode_trigger=lambda e: True,
                      encoder="thread")  # fmt: skip
    errors: list[BaseException] = []
    frames: list[int] = []

    def env_loop():
        try:
            for episode in range(2):
                env.reset(seed=episode)
                frames.append(1)
                done = False
                while not done:
                    _, _, terminated, truncated, _ = env.step(episode % 2)
                    frames[-1] += 1
                    done = terminated or truncated
        except BaseException as exc:
            errors.append(exc)

    hung_store.env_thread = threading.Thread(target=env_loop, daemon=True)
    hung_store.env_thread.start()
    hung_store.env_thread.join(timeout=120)  # a bound on a hang, not a timing
    assert not hung_store.env_thread.is_alive(), "the env loop waited for the hung store"
    assert hung_store.asked_by_the_env_loop == []
    assert errors == []
    hung_store.released.set()
    env.close()
    fs = fsspec.filesystem(HungStore.protocol)
    for episode in range(2):
        data = fs.cat_file(f"rlvideo-hung://runs/rl-video-episode-{episode}.mp4")
        assert decode_bytes(data, tmp_path, f"{episode}.mp4").count == frames[episode]
    assert_empty(staging)


def test_a_store_that_refuses_deletes_still_takes_a_rerun(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Write but no delete permission (common for log buckets): the re-run's video is uploaded
    over the old one, and a stale companion it could not remove is only logged."""
    fs = fsspec.filesystem("memory")
    root = f"rlvideo-test-{uuid.uuid4().hex[:8]}"
    url = f"memory://{root}/videos"
    frames = [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(4)]
    try:
        save_video(frames, url, fps=10)

        real_rm_file = MemoryFileSystem.rm_file

        def refuse(self: Any, path: str, **kwargs: Any) -> None:
            if path.rsplit("/", 1)[-1].startswith("."):  # memory:// renames by copy + delete;
                return real_rm_file(self, path, **kwargs)  # an object store puts in place
            raise PermissionError(f"AccessDenied: {path}")

        monkeypatch.setattr(MemoryFileSystem, "rm_file", refuse)
        with caplog.at_level("WARNING", logger="rlvideo.storage"):
            saved = save_video(frames[::-1], url, fps=10)
        assert saved == [f"{url}/rl-video-episode-0.mp4"]
        monkeypatch.undo()
        path = f"/{root}/videos/rl-video-episode-0.mp4"
        with fs.open(path, "rb") as stream, av.open(stream) as container:
            first = next(container.decode(video=0)).to_ndarray(format="rgb24")
        assert abs(float(first.mean()) - 90) < 4  # the re-run's first frame (shade 3 x 30)
        assert "cannot delete" in caplog.text
    finally:
        monkeypatch.undo()
        fs.rm(f"/{root}", recursive=True)
