"""rlvideo.rllib on a real local Ray: PPO on CartPole with 2 env runners, offline.

Run in .venv-rllib (RLlib pins its own Gymnasium): ``make test`` runs it there. Every video is
decoded with PyAV; records are checked against the files they name.
"""

from __future__ import annotations

import json
import os
import pickle
import uuid
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.tune.logger import LoggerCallback

import rlvideo.rllib
from rlvideo.errors import InvalidArgumentError
from rlvideo.rllib import (
    VideoLoggerCallback,
    finish,
    hand_off,
    video_callbacks,
    videos,
)
from tests.helpers import decode, moto_s3

FRAGMENT = 50  # steps per runner per sample(): most CartPole episodes span several


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():  # fmt: skip
        os.environ[name] = value  # the runners inherit them (moto's dummy credentials)
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def ppo(callbacks, *, runners=2, evaluation=None, envs=1):
    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={"render_mode": "rgb_array"})
        .env_runners(num_env_runners=runners, num_envs_per_env_runner=envs,
                     rollout_fragment_length=FRAGMENT)
        .training(train_batch_size_per_learner=FRAGMENT * max(runners, 1) * 4,
                  minibatch_size=100, num_epochs=1)
        .debugging(seed=0)
    )  # fmt: skip
    if callbacks is not None:
        config = config.callbacks(callbacks)
    if evaluation is not None:
        config = config.evaluation(**evaluation)
    return config.build_algo()


def evaluation_only(callbacks, *, interval: int = 1, episodes: int = 2) -> dict:
    """config.evaluation's arguments: the callbacks on the evaluation runners only."""
    return {
        "evaluation_interval": interval, "evaluation_duration": episodes,
        "evaluation_duration_unit": "episodes", "evaluation_config": {"callbacks": callbacks},
    }  # fmt: skip


def train_and_finish(algo, iterations: int) -> list[dict]:
    """The records of ``iterations`` train() calls and of finish(); the algorithm is stopped."""
    try:
        records = [record for _ in range(iterations) for record in videos(algo.train())]
        return records + finish(algo)
    finally:
        algo.stop()


def check_video(path: Path, record: dict) -> None:
    """The file is what its record says: frames, size, fps, and CartPole's picture."""
    decoded = decode(path)
    assert decoded.count == record["frames"]
    assert (decoded.width, decoded.height) == (600, 400)
    assert decoded.fps == 50
    first, last = decoded.frames[0], decoded.frames[-1]
    assert first.mean() > 200  # CartPole's white background
    assert np.abs(first.astype(int) - last.astype(int)).max() > 10  # the cart or pole moved


def test_training_runners_record_their_sub_envs_into_one_folder(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), episode_trigger=lambda e: e % 5 == 0, metadata=True))
    try:
        reported = []
        for iteration in (1, 2, 3):
            result = algo.train()
            assert result["training_iteration"] == iteration
            reported += videos(result)
        last = finish(algo)
    finally:
        algo.stop()
    assert reported, "no video reached the driver in 3 iterations"
    records = reported + last
    names = [Path(r["url"]).name for r in records]
    assert len(names) == len(set(names)), "two videos got one name"
    assert {r["worker"] for r in records} == {1, 2}  # the remote runners sample; w0 does not
    for record in records:
        path = Path(record["url"])
        w, k, i = record["worker"], record["env_index"], record["episode"]
        assert path.name == f"rl-video-w{w}-env-{k}-episode-{i}.mp4"
        assert i % 5 == 0
        assert not record["evaluation"]
        check_video(path, record)
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["frames"] == record["frames"]
        assert sidecar["env_index"] == k
        assert len(pickle.dumps(record)) < 4096  # what reaches the driver per video
    whole = [r for r in reported if r["terminated"] or r["truncated"]]
    assert whole, "no whole episode was reported"
    for record in whole:  # a whole episode: its reset frame and every step's
        assert record["frames"] == record["steps"] + 1
        lines = (folder / Path(record["url"]).name).with_suffix(".track.jsonl")
        assert len(lines.read_text().splitlines()) == record["frames"]
    assert max(r["steps"] for r in whole) > FRAGMENT, "no episode spanned two sample() calls"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {Path(v["path"]).name for v in manifest["videos"]} == set(names)
    on_disk = {p.name for p in folder.iterdir() if p.suffix == ".mp4"}
    assert on_disk == set(names)  # nothing incomplete, nothing left out


def test_env_runners_picks_the_runners_that_record(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), episode_trigger=lambda e: True, env_runners=[2]))
    try:
        records = videos(algo.train())
    finally:
        algo.stop()
    assert records
    assert {r["worker"] for r in records} == {2}
    assert all(p.name.startswith("rl-video-w2-env-0-") for p in folder.glob("*.mp4"))


def test_each_sub_env_of_a_runner_has_its_own_videos(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: e % 3 == 0, metadata=True), runners=1,
               envs=2)  # fmt: skip
    records = train_and_finish(algo, 2)
    assert {r["env_index"] for r in records} == {0, 1}
    for k in (0, 1):
        episodes = sorted(r["episode"] for r in records if r["env_index"] == k)
        assert episodes[:2] == [0, 3]  # each sub-env counts its own episodes
    for record in records:
        path = Path(record["url"])
        assert path.name == f"rl-video-w1-env-{record['env_index']}-episode-{record['episode']}.mp4"
        check_video(path, record)


def test_evaluation_only_is_one_line(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(None, evaluation=evaluation_only(video_callbacks(str(folder), lambda e: True)))
    try:
        result = algo.train()
        later = algo.train()
    finally:
        algo.stop()
    evaluated = videos(result) + videos(later)
    assert evaluated
    assert all(r["evaluation"] for r in evaluated)
    # reported where RLlib puts evaluation's metrics (a video finishing in the background is
    # reported by the next sample() after it is final: this iteration's, or the next one's)
    assert evaluated == [
        video for r in (result, later)
        for video in r["evaluation"]["env_runners"].get("rlvideo", {}).get("videos", [])
    ]  # fmt: skip
    for record in evaluated:
        path = Path(record["url"])
        assert path.name.startswith("rl-video-eval-w0-env-0-episode-")
        check_video(path, record)
    # training runners recorded nothing
    assert all(p.name.startswith("rl-video-eval-") for p in folder.glob("*.mp4"))


def test_a_bucket_url_gets_the_videos_and_only_urls_travel(tmp_path):
    pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    with moto_s3() as port:
        options = {"client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
                   "key": "testing", "secret": "testing"}  # fmt: skip
        fs = s3fs.S3FileSystem(**options)
        bucket = f"rlvideo-{uuid.uuid4().hex[:12]}"
        fs.mkdir(bucket)
        url = f"s3://{bucket}/videos"
        algo = ppo(video_callbacks(url, lambda e: e % 3 == 0, metadata=True,
                                   storage_options=options))  # fmt: skip
        records = train_and_finish(algo, 2)
        assert records
        fs.invalidate_cache()
        stored = {key.rsplit("/", 1)[1] for key in fs.find(f"{bucket}/videos")}
        for record in records:
            assert record["url"].startswith(f"{url}/")
            name = record["url"].rsplit("/", 1)[1]
            assert {name, name.replace(".mp4", ".json")} <= stored
            local = tmp_path / name
            local.write_bytes(fs.cat_file(f"{bucket}/videos/{name}"))
            check_video(local, record)
        assert "manifest.json" in stored


def test_the_hand_off_logs_each_video_to_tensorboard_at_its_iteration(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlvideo.loggers import TensorBoardLogger

    algo = ppo(video_callbacks(str(tmp_path / "videos"), lambda e: e % 4 == 0))
    handed = {}
    try:
        with TensorBoardLogger(str(tmp_path / "runs")) as board:
            for _ in range(2):
                result = algo.train()
                handed[result["training_iteration"]] = hand_off(result, board)
    finally:
        algo.stop()
    assert any(handed.values())
    events = EventAccumulator(str(tmp_path / "runs"), size_guidance={"tensors": 0})
    events.Reload()
    steps = sorted(event.step for tag in events.Tags()["tensors"] for event in events.Tensors(tag))
    expected = sorted(it for it, records in handed.items() for _ in records)
    assert steps == expected


def test_the_tune_logger_callback_hands_off_at_the_training_iteration():
    logged = []

    class Board:
        def __call__(self, where, meta, *, step):
            logged.append((where, meta.episode, step))

        flush = close = lambda self: None

    callback = VideoLoggerCallback(Board())
    assert isinstance(callback, LoggerCallback)
    record = {"url": "v/rl-video-w1-env-0-episode-5.mp4", "path": "v/a.mp4", "kind": "episode",
              "episode": 5, "worker": 1, "evaluation": False}  # fmt: skip
    callback.log_trial_result(
        7, None, {"training_iteration": 3, "env_runners": {"rlvideo": {"videos": [record]}}}
    )
    assert logged == [("v/rl-video-w1-env-0-episode-5.mp4", 5, 3)]
    copy = pickle.loads(pickle.dumps(callback))  # as Tune saves its callbacks for a restore
    with pytest.raises(InvalidArgumentError, match="a new VideoLoggerCallback"):
        copy.log_trial_result(1, None, {"training_iteration": 1})


def test_a_sub_env_without_frames_is_refused_with_the_fix():
    config = (
        PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
        .callbacks(video_callbacks("videos"))
    )  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="render_mode': 'rgb_array'"):
        config.build_algo()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env_runners": "1"}, "env_runners must list worker indices"),
        ({"env_runners": [-1]}, "env_runners must list worker indices"),
        ({"fromat": "gif"}, "did you mean 'format'"),
        ({"replay": True, "replay_options": {"render": "sometimes"}}, "render"),
        ({"format": "avi"}, "format"),
        ({"name_prefix": "a/b"}, "name_prefix"),
        ({"video_length": -1}, "video_length"),
    ],
)
def test_bad_arguments_fail_on_the_driver(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        video_callbacks("videos", **kwargs)


def test_the_class_is_an_rllib_callback_and_the_module_exports_it():
    assert issubclass(video_callbacks("videos"), RLlibCallback)
    assert set(rlvideo.rllib.__all__) == {
        "METRIC", "VideoLoggerCallback", "finish", "hand_off", "video_callbacks", "videos",
    }  # fmt: skip


def test_a_failing_hand_off_on_a_runner_is_logged_and_training_goes_on(tmp_path, caplog):
    def broken(where, meta):
        raise OSError("tracker down")

    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: True, on_video_saved=broken), runners=0)
    try:
        first = algo.train()
        second = algo.train()
    finally:
        algo.stop()
    assert second["training_iteration"] == 2
    assert list(folder.glob("*.mp4")), "the videos are kept"
    assert first["training_iteration"] == 1
    failures = [r for r in caplog.records if r.name == "rlvideo.rllib" and r.exc_info]
    assert failures
    assert "tracker down" in repr(failures[0].exc_info[1])
    assert "training goes on" in failures[0].getMessage()


def test_replay_renders_the_videos_off_the_runners_and_verifies_them(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: e % 4 == 0, metadata=True, replay=True))
    records = train_and_finish(algo, 2)
    assert records
    assert {r["worker"] for r in records} == {1, 2}
    for record in records:
        path = Path(record["url"])
        assert record["replay"]["verified"] is True, record  # every step replayed exactly
        assert (folder / record["replay"]["file"]).is_file()
        check_video(path, record)
        if record["terminated"] or record["truncated"]:
            assert record["frames"] == record["steps"] + 1


def test_with_replay_a_sample_ends_with_every_ended_video_sent(tmp_path, monkeypatch):
    """RLlib steps the runner's envs no more until its next sample: no video waits meanwhile."""
    from rlvideo.wrappers import _renderer
    from rlvideo.wrappers._replaying import ReplayRecorder

    recorders = []
    real_init = ReplayRecorder.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        recorders.append(self)

    monkeypatch.setattr(ReplayRecorder, "__init__", init)
    monkeypatch.setattr(_renderer, "LOOK_EVERY", 3600.0)  # the renderer looks busy all along
    callbacks = video_callbacks(str(tmp_path), lambda e: True, replay=True)
    algo = ppo(callbacks, runners=0)  # the runner in this process
    try:
        algo.train()
        [recorder] = recorders
        assert recorder._ending == []
        assert len(recorder.replays) >= 2  # videos ended, and were sent
        finish(algo)
    finally:
        algo.stop()


def test_with_replay_the_runner_never_renders(tmp_path, monkeypatch):
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    rendered = []
    real_render = CartPoleEnv.render
    monkeypatch.setattr(CartPoleEnv, "render", lambda self: rendered.append(1) or real_render(self))
    folder = tmp_path / "videos"
    callbacks = video_callbacks(str(folder), lambda e: e % 2 == 0, metadata=True, replay=True)
    algo = ppo(callbacks, runners=0)  # the runner in this process, where render() is counted
    try:
        algo.train()
        records = finish(algo)
    finally:
        algo.stop()
    assert rendered == []
    mp4 = sorted(folder.glob("*.mp4"))
    assert len(mp4) >= 2
    for path in mp4:
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["replay"]["verified"] is True
        assert decode(path).count == sidecar["frames"]
    assert all(Path(r["url"]).is_file() for r in records)


def test_algo_stop_alone_saves_the_videos_in_progress_as_cut_short(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: True, metadata=True), runners=0)
    try:
        reported = videos(algo.train())
    finally:
        algo.stop()  # no finish(): the runner's stop() finishes its videos
    sidecars = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    videos_on_disk = {p.stem for p in folder.glob("*.mp4")}
    assert videos_on_disk == set(sidecars)
    assert not list(folder.glob("*incomplete*"))
    unreported = videos_on_disk - {Path(r["url"]).stem for r in reported}
    assert unreported, "no video was in progress at stop()"
    for stem in unreported:
        if not (sidecars[stem]["terminated"] or sidecars[stem]["truncated"]):
            assert sidecars[stem]["cut_short"] is True
        assert decode(folder / f"{stem}.mp4").count == sidecars[stem]["frames"]


def test_an_env_made_again_ends_its_videos_cut_short_and_recording_goes_on(tmp_path):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: True, metadata=True), runners=0)
    try:
        first = videos(algo.train())
        runner = algo.env_runner_group.local_env_runner
        runner.make_env()  # as RLlib does to restart a failed env
        later = videos(algo.train()) + finish(algo)
    finally:
        algo.stop()
    cut = [r for r in first + later if r["cut_short"]]
    assert cut, "the video in progress when the env was made again was not ended"
    names = [Path(r["url"]).name for r in first + later]
    assert len(names) == len(set(names))
    assert later, "nothing recorded after the env was made again"


def test_a_tune_run_hands_each_trials_videos_to_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from ray import tune
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlvideo.loggers import TensorBoardLogger

    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={"render_mode": "rgb_array"})
        .env_runners(num_env_runners=1, rollout_fragment_length=FRAGMENT)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
        .callbacks(video_callbacks(str(tmp_path / "videos"), lambda e: e % 2 == 0))
    )  # fmt: skip
    board = TensorBoardLogger(str(tmp_path / "runs"))
    tuner = tune.Tuner(
        config.algo_class,  # the class: Tune's "PPO" imports every algorithm, and one warns
        param_space=config,
        run_config=tune.RunConfig(
            stop={"training_iteration": 3}, storage_path=str(tmp_path / "tune"), verbose=0,
            callbacks=[VideoLoggerCallback(board)],
        ),
    )  # fmt: skip
    results = tuner.fit()
    assert not results.errors
    events = EventAccumulator(str(tmp_path / "runs"), size_guidance={"tensors": 0})
    events.Reload()
    steps = [event.step for tag in events.Tags()["tensors"] for event in events.Tensors(tag)]
    assert steps, "no video reached TensorBoard through Tune"
    assert set(steps) <= {1, 2, 3}  # the training iterations
    assert len(steps) <= len(list((tmp_path / "videos").glob("*.mp4")))


def test_an_iteration_that_finishes_one_video_reports_it(tmp_path):
    """RLlib's compile() turns a list of one item into the item: one video is still reported."""
    algo = ppo(video_callbacks(str(tmp_path / "videos"), lambda e: e == 0), runners=1)
    try:
        results = [algo.train() for _ in range(2)]
    finally:
        algo.stop()
    raw = [r["env_runners"].get("rlvideo", {}).get("videos") for r in results]
    assert any(isinstance(item, dict) for item in raw), raw  # the collapsed form happened
    reported = [record for r in results for record in videos(r)]
    assert [Path(r["url"]).name for r in reported] == ["rl-video-w1-env-0-episode-0.mp4"]


def test_evaluation_every_other_iteration_hands_each_video_over_once(tmp_path):
    handed = []

    class Fake:
        def __call__(self, where, meta, *, step):
            handed.append((where, step))

    board = Fake()
    callbacks = video_callbacks(str(tmp_path), lambda e: True)
    algo = ppo(None, evaluation=evaluation_only(callbacks, interval=2))
    try:
        for _ in range(4):
            hand_off(algo.train(), board)
    finally:
        algo.stop()
    urls = [where for where, _ in handed]
    assert urls, "no evaluation video was handed over"
    assert len(urls) == len(set(urls))


def test_replay_in_evaluation_episodes_with_two_sub_envs_verifies_or_cuts_short(tmp_path):
    """Evaluation samples whole episodes (num_episodes): resets are forced, autoresets unseeded,
    and the episodes of other sub-envs are abandoned when enough are done."""
    folder = tmp_path / "videos"
    callbacks = video_callbacks(str(folder), lambda e: True, metadata=True, replay=True)
    algo = ppo(None, envs=2, evaluation=evaluation_only(callbacks, episodes=3))
    try:
        for _ in range(2):
            algo.train()
        records = finish(algo)
    finally:
        algo.stop()
    sidecars = [json.loads(p.read_text()) for p in sorted(folder.glob("rl-video-*.json"))]
    assert len(sidecars) >= 4
    assert all(s["env_index"] in (0, 1) for s in sidecars)
    for sidecar in sidecars:
        assert sidecar["replay"]["verified"] is True, sidecar
        assert decode(folder / sidecar["path"]).count == sidecar["frames"]
        if sidecar["terminated"] or sidecar["truncated"]:
            assert sidecar["frames"] == sidecar["steps"] + 1
        else:
            assert sidecar["cut_short"] is True  # abandoned by RLlib, or open at finish()
    assert isinstance(records, list)


def test_after_finish_training_goes_on_without_recording(tmp_path, caplog):
    folder = tmp_path / "videos"
    algo = ppo(video_callbacks(str(folder), lambda e: True), runners=0)
    try:
        algo.train()
        finish(algo)
        before = sorted(p.name for p in folder.glob("*.mp4"))
        after = algo.train()
    finally:
        algo.stop()
    assert after["training_iteration"] == 2
    assert sorted(p.name for p in folder.glob("*.mp4")) == before
    assert not [r for r in caplog.records if r.name == "rlvideo.rllib"]
