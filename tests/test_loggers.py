"""rlvideo.loggers against the real trackers, offline: wandb, TensorBoard (torch, tensorboardX
and rlvideo's own event file) and MLflow (sqlite), local folders and S3 (moto on loopback)."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import math
import socket
import struct
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import av
import gymnasium as gym
import numpy as np
import pytest

from rlvideo import RecordVideo, VideoMetadata, save_video
from rlvideo.cli.demo import balancing_policy
from rlvideo.errors import InvalidArgumentError, MissingDependencyError, StorageError
from rlvideo.io._preview import gif_preview
from rlvideo.loggers import MLflowLogger, TensorBoardLogger, VideoLogger, WandbLogger, caption
from rlvideo.storage import local_file
from tests.helpers import decode, rms

wandb = pytest.importorskip("wandb")
mlflow = pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.backend.event_processing.plugin_event_accumulator import (  # noqa: E402
    EventAccumulator as PluginEventAccumulator,
)

STEPS = 12  # steps per episode: every video holds STEPS + 1 frames


# -- fixtures and helpers ------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """wandb offline, writing under tmp_path; MLflow on a sqlite file in tmp_path."""
    for name, value in {
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-config"),
        "WANDB_CACHE_DIR": str(tmp_path / "wandb-cache"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "MLFLOW_DISABLE_TELEMETRY": "true",  # no network here
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    wandb.teardown()  # wandb keeps the settings of its first init (a doctest's): read these anew
    yield
    wandb.teardown()


def record(folder, episodes: int, on_video_saved, **options):
    """Record ``episodes`` CartPole episodes of STEPS steps each; return the wrapper's videos."""
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=STEPS)
    env = RecordVideo(env, str(folder), episode_trigger=lambda e: True, metadata=True,
                      on_video_saved=on_video_saved, encoder="thread", **options)  # fmt: skip
    metas: list[VideoMetadata] = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=episode)
        while True:
            observation, _, terminated, truncated, _ = env.step(balancing_policy(observation))
            if terminated or truncated:
                break
    env.close()
    for where in env.saved_videos:
        sidecar = Path(str(where)).with_suffix(".json")
        if sidecar.exists():
            metas.append(VideoMetadata.from_json(sidecar.read_text()))
    return env.saved_videos, metas


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clip(folder: Path, name: str, frames: int = 8, value: int = 0) -> Path:
    """A small video of its own (distinct bytes per value), saved with save_video."""
    array = np.full((frames, 48, 64, 3), value, np.uint8)
    array[:, : value % 48, :, 0] = 255
    return Path(save_video(array, folder, fps=10, name_prefix=name)[0])


def wandb_history(run_dir: Path) -> list[dict]:
    """The history rows of an offline run, read from its transaction log (LevelDB log format)."""
    from wandb.proto import wandb_internal_pb2

    data = Path(glob.glob(str(run_dir / "run-*.wandb"))[0]).read_bytes()
    rows, position, block, pending = [], 7, 32768, b""  # 7: the ":W&B" header
    while position + 7 <= len(data):
        if block - position % block < 7:
            position += block - position % block  # a block's tail too short for a header
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind not in (1, 4):  # a first or middle fragment
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        if record.WhichOneof("record_type") != "history":
            continue
        row: dict = {}
        for item in record.history.item:
            *parents, key = list(item.nested_key) or [item.key]
            place = row
            for parent in parents:  # wandb flattens nested dicts: nest them again
                place = place.setdefault(parent, {})
            place[key] = json.loads(item.value_json)
        rows.append(row)
    return rows


def finish_wandb(run) -> Path:
    run_dir = Path(run.dir).parent
    run.finish()
    wandb.teardown()  # writes the transaction log out
    return run_dir


def gif_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def assert_gif_shows(data: bytes, video: Path, *, stride: int, size: tuple[int, int]) -> None:
    """The GIF holds every ``stride``-th frame of the video, scaled to ``size`` (w, h)."""
    width, height = size
    with av.open(str(video)) as container:
        expected = [
            frame.reformat(
                width=width, height=height, format="rgb24", interpolation="AREA"
            ).to_ndarray()
            for index, frame in enumerate(container.decode(video=0))
            if index % stride == 0
        ]
    got = gif_frames(data)
    assert len(got) == len(expected)
    assert got[0].shape == (height, width, 3)
    errors = [rms(a, b) for a, b in zip(got, expected, strict=True)]
    assert max(errors) < 12, errors  # one palette, ordered dithering
    assert np.mean(errors) < 6, errors


def events(log_dir) -> EventAccumulator:
    accumulator = EventAccumulator(str(log_dir), size_guidance={"images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


# -- wandb ---------------------------------------------------------------------------------------
def test_wandb_offline_run_holds_our_files_at_their_steps(tmp_path):
    run = wandb.init(project="rlvideo-test")
    saved, metas = record(tmp_path / "videos", 3, WandbLogger())
    run_dir = finish_wandb(run)

    media = sorted((run_dir / "files" / "media" / "videos").iterdir())
    assert sorted(sha(p.read_bytes()) for p in media) == sorted(
        sha(Path(p).read_bytes()) for p in saved
    )  # byte-identical: the file itself, no re-encode
    rows = [row for row in wandb_history(run_dir) if "videos" in row]
    assert [row["global_step"] for row in rows] == [m.first_step for m in metas] == [0, 12, 24]
    for row, meta, path in zip(rows, metas, saved, strict=True):
        logged = run_dir / "files" / row["videos"]["path"]
        assert logged.read_bytes() == Path(path).read_bytes()
        assert row["videos"]["caption"] == caption(meta)
        assert row["videos"]["caption"].startswith(f"CartPole-v1, episode {meta.episode}")
        assert row["videos_metadata"]["episode"] == meta.episode  # the metadata, flattened
        assert row["videos_metadata"]["frames"] == STEPS + 1


def test_wandb_own_step_and_an_explicit_run(tmp_path):
    run = wandb.init(project="rlvideo-test")
    log = WandbLogger(run, key="eval/video", step_metric=None)
    log(clip(tmp_path, "a"), step=10)
    log(clip(tmp_path, "b", value=9), step=20)
    run_dir = finish_wandb(run)
    rows = [row for row in wandb_history(run_dir) if "eval/video" in row]
    assert [row["_step"] for row in rows] == [10, 20]


def test_wandb_without_a_run_says_so_and_keeps_the_video(tmp_path):
    assert wandb.run is None
    with pytest.raises(InvalidArgumentError, match=r"call wandb.init\(\) before"):
        record(tmp_path / "videos", 1, WandbLogger())
    assert (tmp_path / "videos" / "rl-video-episode-0.mp4").is_file()


# -- TensorBoard ---------------------------------------------------------------------------------
def _writer(kind, log_dir):
    if kind == "torch":
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(log_dir))
    if kind == "tensorboardX":
        tensorboardx = pytest.importorskip("tensorboardX")
        return tensorboardx.SummaryWriter(str(log_dir))
    return str(log_dir)


@pytest.mark.parametrize("kind", ["torch", "tensorboardX", "log dir"])
def test_tensorboard_gif_at_each_video_step(tmp_path, kind):
    writer = _writer(kind, tmp_path / "runs")
    board = TensorBoardLogger(writer, max_size=64)
    saved, metas = record(tmp_path / "videos", 2, board)  # close() waited for the GIFs
    if kind != "log dir":
        writer.close()
    board.close()

    assert len(list((tmp_path / "runs").glob("*tfevents*"))) == 1  # no second file at close()
    found = events(tmp_path / "runs")
    images = found.Images("videos")
    assert [image.step for image in images] == [m.first_step for m in metas] == [0, 12]
    for image, path in zip(images, saved, strict=True):
        assert image.encoded_image_string[:6] == b"GIF89a"
        assert (image.width, image.height) == (64, 43)  # 600x400 scaled to 64 on its long side
        assert_gif_shows(image.encoded_image_string, Path(path), stride=1, size=(64, 43))
    description = found.SummaryMetadata("videos").summary_description
    assert str(saved[0]) in description  # the first one per tag is what readers keep
    paths = found.Tensors("videos/path")
    assert [event.step for event in paths] == [0, 12]
    for event, path in zip(paths, saved, strict=True):
        assert str(path) in event.tensor_proto.string_val[0].decode()
    ui = PluginEventAccumulator(str(tmp_path / "runs"), size_guidance={"tensors": 0})
    ui.Reload()  # what TensorBoard's server reads: the Images and Text plugins
    assert list(ui.PluginTagToContent("images")) == ["videos"]
    assert list(ui.PluginTagToContent("text")) == ["videos/path"]
    assert [event.step for event in ui.Tensors("videos")] == [0, 12]


def test_tensorboard_limits_frames_and_size_evenly(tmp_path):
    video = clip(tmp_path, "long", frames=95, value=30)
    board = TensorBoardLogger(str(tmp_path / "runs"), max_size=32, max_frames=20)
    board(video, step=7)
    board.close()
    (image,) = events(tmp_path / "runs").Images("videos")
    assert (image.step, image.width, image.height) == (7, 32, 24)
    assert len(gif_frames(image.encoded_image_string)) == math.ceil(95 / 5) == 19  # stride 5
    assert_gif_shows(image.encoded_image_string, video, stride=5, size=(32, 24))


def test_gif_frame_rate_limit_skips_frames_and_keeps_duration(tmp_path):
    frames = np.zeros((60, 32, 32, 3), np.uint8)
    video = Path(save_video(frames, tmp_path, fps=120)[0])
    gif = gif_preview(video, max_fps=50)
    assert (gif.stride, gif.fps, gif.frames) == (3, 40.0, 20)
    with av.open(io.BytesIO(gif.data)) as container:
        stream = container.streams.video[0]
        times = [float(f.time) for f in container.decode(stream)]
    assert times[1] - times[0] == pytest.approx(1 / 40, abs=0.006)  # centisecond delays


def test_gif_preview_memory_is_flat(tmp_path):
    """The GIF of a 3000-frame video needs no more memory than that of a 300-frame one."""
    script = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        from rlvideo import VideoWriter
        from rlvideo.io._preview import gif_preview
        for n in (300, 3000):
            with VideoWriter(f"{tmp_path}/v{{n}}.mp4", fps=30) as w:
                for i in range(n):
                    w.write(np.random.default_rng(i).integers(0, 255, (120, 160, 3), np.uint8))
        gif_preview(f"{tmp_path}/v300.mp4", max_frames=300)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        gif = gif_preview(f"{tmp_path}/v3000.mp4", max_frames=3000, max_fps=30)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(gif.frames, (after - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()  # fmt: skip
    frames, growth_mb = int(out[0]), int(out[1])
    assert frames == 3000
    assert growth_mb < 40  # 3000 frames held would be 3000 x 58 kB = 170 MB


def test_tensorboard_log_dir_needs_no_torch(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # importing torch now fails
        import numpy as np
        from rlvideo import save_video
        from rlvideo.loggers import TensorBoardLogger
        with TensorBoardLogger("{tmp_path}/runs") as board:
            for path in save_video(np.zeros((5, 32, 32, 3), np.uint8), "{tmp_path}/v", fps=5):
                board(path, step=3)
        loaded = [m for m, v in sys.modules.items() if v is not None]
        print([m for m in loaded if m.split(".")[0] in ("torch", "tensorflow")])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "[]"
    assert [image.step for image in events(tmp_path / "runs").Images("videos")] == [3]


def test_tensorboard_default_log_dir_is_torchs(tmp_path):
    board = TensorBoardLogger()
    board.close()
    assert Path(board.log_dir).parent == Path("runs")
    assert socket.gethostname() in board.log_dir
    assert list(Path(board.log_dir).glob("events.out.tfevents.*"))


def test_tensorboard_rejects_what_is_not_a_writer():
    with pytest.raises(InvalidArgumentError, match="takes a SummaryWriter"):
        TensorBoardLogger(42)
    with pytest.raises(InvalidArgumentError, match="max_frames must be a number of at least 1"):
        TensorBoardLogger("runs", max_frames=0)


# -- MLflow --------------------------------------------------------------------------------------
def test_mlflow_artifacts_named_by_step_with_metadata_and_tags(tmp_path):
    with mlflow.start_run() as run:
        saved, metas = record(tmp_path / "videos", 2, MLflowLogger())
    client = mlflow.MlflowClient()
    run_id = run.info.run_id
    names = sorted(f.path for f in client.list_artifacts(run_id, "videos"))
    assert names == [
        "videos/step_00000000.json", "videos/step_00000000.mp4",
        "videos/step_00000012.json", "videos/step_00000012.mp4",
    ]  # fmt: skip
    for meta, path in zip(metas, saved, strict=True):
        stem = f"videos/step_{meta.first_step:08d}"
        local = Path(client.download_artifacts(run_id, f"{stem}.mp4", str(tmp_path / "dl")))
        assert local.read_bytes() == Path(path).read_bytes()
        assert decode(local).count == STEPS + 1
        details = json.loads(Path(client.download_artifacts(run_id, f"{stem}.json")).read_text())
        assert details["step"] == meta.first_step
        assert details["episode"] == meta.episode
        assert details["video"] == str(path)
    tags = client.get_run(run_id).data.tags
    assert tags["rlvideo.env_id"] == "CartPole-v1"
    assert tags["rlvideo.version"] == metas[0].rlvideo_version


def test_mlflow_same_step_and_sub_env_names_do_not_collide(tmp_path):
    with mlflow.start_run() as run, MLflowLogger(background=False) as log:
        for value, env_index in ((1, None), (2, None), (3, 0)):
            path = clip(tmp_path, f"v{value}", value=value)
            meta = VideoMetadata(path=str(path), kind="episode", first_step=5, env_index=env_index)
            log(path, meta)
    names = sorted(f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "videos"))
    assert [n for n in names if n.endswith(".mp4")] == [
        "videos/step_00000005.mp4",
        "videos/step_00000005_2.mp4",
        "videos/step_00000005_env_0.mp4",
    ]


def test_a_tracker_that_raises_loses_no_video(tmp_path):
    """A background hand-off that fails: logged, raised by close(), and every video is kept."""
    log = MLflowLogger(run_id="no-such-run")
    with pytest.raises(Exception, match="no-such-run"):
        record(tmp_path / "videos", 2, log)
    assert sorted(p.name for p in (tmp_path / "videos").glob("*.mp4")) == [
        "rl-video-episode-0.mp4",
        "rl-video-episode-1.mp4",
    ]


def test_mlflow_without_a_run_says_so(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"call mlflow.start_run\(\) before"):
        MLflowLogger()(clip(tmp_path, "a"))


# -- every tracker: steps out of order, plain paths, missing files -------------------------------
def _tracker_steps(kind, tmp_path, calls):
    """Hand videos to one tracker as ``calls`` says; return (step, bytes) as the tracker has it."""
    if kind == "wandb":
        run = wandb.init(project="rlvideo-test")
        log = WandbLogger()
        for path, meta in calls:
            log(path, meta)
        run_dir = finish_wandb(run)
        return [
            (row["global_step"], (run_dir / "files" / row["videos"]["path"]).read_bytes())
            for row in wandb_history(run_dir) if "videos" in row
        ]  # fmt: skip
    if kind == "tensorboard":
        with TensorBoardLogger(str(tmp_path / "runs"), max_size=64) as log:
            for path, meta in calls:
                log(path, meta)
        return [
            (image.step, image.encoded_image_string)
            for image in events(tmp_path / "runs").Images("videos")
        ]
    with mlflow.start_run() as run, MLflowLogger() as log:
        for path, meta in calls:
            log(path, meta)
    client = mlflow.MlflowClient()
    return [
        (int(f.path.split("_")[1].split(".")[0]), Path(client.download_artifacts(
            run.info.run_id, f.path, str(tmp_path / "dl"))).read_bytes())
        for f in client.list_artifacts(run.info.run_id, "videos") if f.path.endswith(".mp4")
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["wandb", "tensorboard", "mlflow"])
def test_videos_finishing_out_of_order_land_at_their_own_steps(tmp_path, kind):
    videos = {}
    for step in (300, 100, 200):  # finished late first: the order encoders may finish in
        path = clip(tmp_path / "videos", f"v{step}", value=step // 10)
        videos[step] = (path, VideoMetadata(path=str(path), kind="step", first_step=step))
    logged = _tracker_steps(kind, tmp_path, list(videos.values()))
    assert sorted(step for step, _ in logged) == [100, 200, 300]
    for step, data in logged:
        path = videos[step][0]
        if kind == "tensorboard":
            assert_gif_shows(data, path, stride=1, size=(64, 48))
        else:
            assert data == path.read_bytes()


@pytest.mark.parametrize("kind", ["wandb", "tensorboard", "mlflow"])
def test_loggers_take_plain_paths_with_their_sidecars(tmp_path, kind):
    """``logger(path)`` on what save_video returned: the step from the sidecar, when written."""
    path = clip(tmp_path / "videos", "plain", value=5)
    meta = VideoMetadata(path=str(path), kind="step", first_step=77)
    path.with_suffix(".json").write_text(meta.to_json())
    logged = _tracker_steps(kind, tmp_path, [(path, None)])
    assert [step for step, _ in logged] == [77]


def test_step_callable_and_bad_steps(tmp_path):
    board = TensorBoardLogger(str(tmp_path / "runs"), step=lambda meta: meta.first_step * 4)
    assert board.step_of(VideoMetadata(path="a.mp4", kind="step", first_step=25)) == 100
    with pytest.raises(InvalidArgumentError, match="step must be a step count"):
        board(clip(tmp_path, "s"), step=-1)
    with pytest.raises(InvalidArgumentError, match="step must be a callable"):
        TensorBoardLogger(str(tmp_path / "runs"), step=5)
    with pytest.raises(StorageError, match="no video to log at"):
        board(tmp_path / "missing.mp4", step=1)
    board.close()


def test_missing_tracker_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "rlvideo\[wandb\]"'):
        WandbLogger()
    with pytest.raises(MissingDependencyError, match=r'pip install "rlvideo\[mlflow\]"'):
        MLflowLogger()


# -- the recorder's side of the hand-off ---------------------------------------------------------
def test_a_raising_callback_keeps_every_video_and_raises_as_it_was(tmp_path):
    """A user's callback that raises: the next call raises it; the videos are all kept."""
    calls, caught = [], []

    def tracker(path, meta):
        calls.append(meta.episode)
        if meta.episode == 0:
            raise ConnectionError("tracker down")

    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=STEPS)
    env = RecordVideo(env, str(tmp_path / "videos"), on_video_saved=tracker, encoder="thread")
    for episode in range(2):
        observation, _ = env.reset(seed=episode)
        done = False
        while not done:
            try:
                observation, _, terminated, truncated, _ = env.step(balancing_policy(observation))
            except ConnectionError as exc:
                caught.append(exc)  # the step was taken; a real loop would log and go on
                continue
            done = terminated or truncated
    try:
        env.close()
    except ConnectionError as exc:
        caught.append(exc)
    assert [str(e) for e in caught] == ["tracker down"]
    assert calls == [0, 1]  # the second video was still handed off
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2


def test_tracker_errors_never_reach_the_env_loop(tmp_path):
    """A tracker that raises in the caller's thread: logged, raised by close(), videos kept."""

    class DownRun:
        def define_metric(self, *args, **kwargs):
            pass

        def log(self, data, **kwargs):
            raise ConnectionError("wandb is down")

    with pytest.raises(ConnectionError, match="wandb is down"):
        record(tmp_path / "videos", 2, WandbLogger(DownRun()))  # raised by env.close()
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2


def test_close_waits_for_background_hand_offs(tmp_path):
    class Slow(VideoLogger):
        def __init__(self):
            super().__init__(background=True)
            self.logged: list[int] = []
            self.flushed = 0

        def _log(self, path, where, meta, step, target):
            import time

            time.sleep(0.2)
            self.logged.append(step)

        def _flush_tracker(self):
            self.flushed += 1

    slow = Slow()
    _, metas = record(tmp_path / "videos", 2, slow)
    assert slow.logged == [m.first_step for m in metas]  # all done when close() returned
    assert slow.flushed == 1


# -- object stores -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_url():
    """A bucket on moto's S3 server on loopback; its URL prefix and storage_options."""
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # bound to a free port, which it keeps: no window for another to take it
    port = server.get_host_and_port()[1]
    options = {"client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
               "key": "testing", "secret": "testing"}  # fmt: skip
    bucket = f"rlvideo-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**options).mkdir(bucket)
    yield f"s3://{bucket}", options
    server.stop()


@pytest.fixture
def staging(tmp_path, monkeypatch):
    import tempfile

    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.mark.parametrize("kind", ["wandb", "tensorboard", "mlflow"])
def test_s3_destination_hands_off_the_uploaded_video(tmp_path, s3_url, staging, kind):
    url, options = s3_url
    folder = f"{url}/{kind}-{uuid.uuid4().hex[:6]}"
    if kind == "wandb":
        run = wandb.init(project="rlvideo-test")
        saved, _ = record(folder, 1, WandbLogger(), storage_options=options)
        run_dir = finish_wandb(run)
        (media,) = (run_dir / "files" / "media" / "videos").iterdir()
        logged = media.read_bytes()
    elif kind == "tensorboard":
        with TensorBoardLogger(str(tmp_path / "runs"), max_size=64) as board:
            saved, _ = record(folder, 1, board, storage_options=options)
        (image,) = events(tmp_path / "runs").Images("videos")
        logged = image.encoded_image_string
    else:
        with mlflow.start_run() as run:
            saved, _ = record(folder, 1, MLflowLogger(), storage_options=options)
        client = mlflow.MlflowClient()
        artifact = "videos/step_00000000.mp4"
        logged = Path(client.download_artifacts(run.info.run_id, artifact, str(tmp_path / "dl")))
        logged = logged.read_bytes()
    assert [str(s).startswith("s3://") for s in saved] == [True]
    import fsspec

    uploaded = fsspec.open(str(saved[0]), "rb", **options).open().read()
    if kind == "tensorboard":
        (tmp_path / "up.mp4").write_bytes(uploaded)
        assert_gif_shows(logged, tmp_path / "up.mp4", stride=1, size=(64, 43))
    else:
        assert logged == uploaded
    assert [p for p in staging.rglob("*") if p.is_file()] == []  # the local copies are gone


def test_s3_url_from_save_video_is_downloaded(tmp_path, s3_url, staging):
    url, options = s3_url
    frames = np.zeros((6, 32, 32, 3), np.uint8)
    (where,) = save_video(frames, f"{url}/plain", fps=6, storage_options=options)
    assert local_file(where) is None  # uploaded and gone: the logger downloads it
    with mlflow.start_run() as run, MLflowLogger(storage_options=options) as log:
        log(where, step=9)
    names = [f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "videos")]
    assert "videos/step_00000009.mp4" in names
    assert [p for p in staging.rglob("*") if p.is_file()] == []


def test_user_callback_reads_the_local_copy_of_an_s3_video(tmp_path, s3_url, staging):
    url, options = s3_url
    seen = []

    def callback(where, meta):
        local = local_file(where)
        seen.append((str(where), local is not None and local.is_file(), local.read_bytes()))

    saved, _ = record(f"{url}/own", 1, callback, storage_options=options)
    import fsspec

    assert seen == [
        (str(saved[0]), True, fsspec.open(str(saved[0]), "rb", **options).open().read())
    ]
    assert local_file(saved[0]) is None  # deleted once the callback returned


def test_a_damaged_sidecar_is_skipped_with_a_warning_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from rlvideo.loggers.base import _metadata_of

    video = tmp_path / "run.mp4"
    video.write_bytes(b"not read here")
    (tmp_path / "run.json").write_bytes(b'{"path": "run.mp4", "kind": "\xff"}')
    with caplog.at_level("WARNING"):
        meta = _metadata_of(str(video))
    assert meta.kind == "manual"
    assert meta.path == str(video)
    assert "run.json" in caplog.text
    assert "UTF-8" in caplog.text
