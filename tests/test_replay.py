"""``replay=True`` (issue 23): the loop renders nothing, and the renderer writes the videos that
live recording writes (same names, frame counts, pixels, tracks, sidecars but for their ``replay``
field), verified step by step; a replay that diverges is marked and later videos go live."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlvideo
from rlvideo._core.metadata import parse_sidecar
from rlvideo.errors import InvalidArgumentError, RLVideoError
from rlvideo.io.replayfile import read_replay
from rlvideo.replay import render
from tests.helpers import decode

FAMILIES = [
    ("CartPole-v1", None),
    ("Pendulum-v1", None),
    ("LunarLander-v3", "Box2D"),
    ("HalfCheetah-v5", "mujoco"),
    ("ALE/Pong-v5", "ale_py"),
    ("MiniGrid-DoorKey-8x8-v0", "minigrid"),
]


def make(env_id: str, **kwargs: Any) -> gym.Env:  # type: ignore[type-arg]
    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    if env_id.startswith("MiniGrid"):
        import minigrid  # noqa: F401 (registers the envs)
    return gym.make(env_id, render_mode="rgb_array", **kwargs)


def roll(env: gym.Env, episodes: int, steps: int, seed: int = 5) -> None:  # type: ignore[type-arg]
    """Random actions (seeded), the first reset seeded and the others not."""
    env.action_space.seed(1)
    for episode in range(episodes):
        env.reset(seed=seed if episode == 0 else None)
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break


def record(env_id: str, folder: Path, *, episodes: int = 2, steps: int = 40,
           **options: Any) -> rlvideo.RecordVideo:  # fmt: skip
    env = rlvideo.RecordVideo(make(env_id), str(folder), **{
        "episode_trigger": lambda e: True, "metadata": True, "encoder": "thread", **options,
    })  # fmt: skip
    roll(env, episodes, steps)
    env.close()
    return env


def record_elsewhere(env_id: str, folder: Path, steps: int) -> None:
    """:func:`record` live in a fresh interpreter (see tests/test_mujoco.py: EGL and torch)."""
    code = (
        "import sys; from pathlib import Path; from tests.test_replay import record; "
        f"record({env_id!r}, Path(sys.argv[1]), steps={steps}, track=True, overlay=True)"
    )
    root = str(Path(__file__).resolve().parents[1])
    paths = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=False,
        cwd=folder.parent, env={**os.environ, "PYTHONPATH": paths},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _not_strict_json(constant: str) -> None:
    pytest.fail(f"a sidecar holds {constant}: not strict JSON")


def sidecar(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(), parse_constant=_not_strict_json)
    return data


@pytest.fixture(autouse=True)
def _quiet_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))


@pytest.mark.parametrize(("env_id", "module"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_a_replayed_video_is_the_live_one(tmp_path: Path, env_id: str, module: str | None) -> None:
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    steps = 12 if env_id.startswith("HalfCheetah") else 40
    if env_id.startswith("HalfCheetah"):  # Mesa's EGL in the test process crashes torch later
        record_elsewhere(env_id, tmp_path / "live", steps)
    else:
        record(env_id, tmp_path / "live", steps=steps, track=True, overlay=True)
    env = record(env_id, tmp_path / "replay", steps=steps, track=True, overlay=True, replay=True)
    live = sorted(p.name for p in (tmp_path / "live").iterdir())
    replayed = sorted(p.name for p in (tmp_path / "replay").iterdir())
    stems = [name.removesuffix(".mp4") for name in live if name.endswith(".mp4")]
    assert len(stems) == 2
    assert replayed == sorted(live + [f"{stem}.replay.npz" for stem in stems])
    assert [Path(p).name for p in env.saved_videos] == [f"{stem}.mp4" for stem in stems]
    for stem in stems:
        a, b = (
            decode(tmp_path / "live" / f"{stem}.mp4"),
            decode(tmp_path / "replay" / f"{stem}.mp4"),
        )
        assert b.count == a.count > 1
        assert (b.width, b.height, b.fps) == (a.width, a.height, a.fps)
        assert (
            max(np.abs(x.astype(int) - y).max() for x, y in zip(a.frames, b.frames, strict=True))
            == 0
        )
        track = f"{stem}.track.jsonl"
        assert (tmp_path / "replay" / track).read_text() == (tmp_path / "live" / track).read_text()
        was, now = (
            sidecar(tmp_path / "live" / f"{stem}.json"),
            sidecar(tmp_path / "replay" / f"{stem}.json"),
        )
        assert now.pop("replay") == {"file": f"{stem}.replay.npz", "verified": True}
        assert was.pop("replay") is None
        assert now == was


def record_cheetah(folder: Path, replay: bool) -> None:
    """HalfCheetah, two step clips in one episode, in a fresh interpreter (EGL: see above)."""
    code = f"""
import sys, gymnasium as gym, rlvideo
env = rlvideo.RecordVideo(gym.make("HalfCheetah-v5", render_mode="rgb_array", width=96,
                                   height=64), sys.argv[1], step_trigger=lambda s: s in (0, 30),
                          video_length=6, encoder="thread", replay={replay})
env.action_space.seed(1)
env.reset(seed=5)
for _ in range(40):
    env.step(env.action_space.sample())
env.close()
"""
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_mujoco_free_camera_is_aimed_as_live_whatever_rendered_before(tmp_path: Path) -> None:
    """Gymnasium's MuJoCo viewer aims its free camera at its first render: a later clip
    rendered on its own (``rlvideo render``, another worker) must be drawn from there too."""
    if importlib.util.find_spec("mujoco") is None:
        pytest.skip("mujoco is not installed")
    record_cheetah(tmp_path / "live", replay=False)
    record_cheetah(tmp_path / "replay", replay=True)
    later = tmp_path / "replay" / "rl-video-step-30.replay.npz"
    assert read_replay(later)[0].video["lookat"] is not None
    [result] = render([later], video_folder=str(tmp_path / "alone"), workers=2)
    assert result.verified
    for video in (tmp_path / "replay" / "rl-video-step-30.mp4", Path(result.path)):
        a, b = decode(tmp_path / "live" / "rl-video-step-30.mp4"), decode(video)
        assert b.count == a.count == 6
        pairs = zip(a.frames, b.frames, strict=True)
        assert max(np.abs(x.astype(int) - y).mean() for x, y in pairs) < 1


def test_episodes_no_video_takes_keep_nothing_and_a_hand_started_video_goes_live(
    tmp_path: Path,
) -> None:
    """With an episode trigger only, an episode whose reset started no video keeps none of
    its steps (nothing can replay them); a video started by hand inside one is recorded live,
    and the triggered videos still replay, exact."""
    env = rlvideo.RecordVideo(
        make("CartPole-v1"), str(tmp_path / "replay"), episode_trigger=lambda e: e in (0, 2),
        encoder="thread", replay=True,
    )  # fmt: skip
    live = rlvideo.RecordVideo(
        make("CartPole-v1"), str(tmp_path / "live"), episode_trigger=lambda e: e in (0, 2),
        encoder="thread",
    )  # fmt: skip
    replay = env._replay
    assert replay is not None
    for wrapper in (env, live):
        wrapper.action_space.seed(1)
        for episode in range(3):
            wrapper.reset(seed=7 if episode == 0 else None)
            for t in range(8):
                wrapper.step(t % 2)
                if episode == 1 and t == 3:
                    if wrapper is env:  # episode 1: no video, nothing kept of its steps
                        assert replay._streams[None].episode.logged is False
                        assert replay._streams[None].episode.actions == []
                    wrapper.start_recording("by-hand")
            if episode == 1:
                wrapper.stop_recording()
            elif wrapper is env:  # a triggered episode keeps every step
                assert replay._streams[None].episode.logged is True
                assert len(replay._streams[None].episode.actions) == 8
        wrapper.close()
    names = sorted(p.name for p in (tmp_path / "replay").iterdir() if p.suffix == ".mp4")
    assert names == ["by-hand.mp4", "rl-video-episode-0.mp4", "rl-video-episode-2.mp4"]
    assert not (tmp_path / "replay" / "by-hand.replay.npz").exists()  # recorded live
    assert (tmp_path / "replay" / "rl-video-episode-2.replay.npz").exists()
    for name in names:
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert b.count == a.count > 1
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert decode(tmp_path / "replay" / "by-hand.mp4").count == 4  # steps 5-8 of episode 1
    assert sorted(Path(p).name for p in env.saved_videos) == names  # the live one too


def test_a_video_started_by_hand_between_episodes_is_replayed(tmp_path: Path) -> None:
    """Started after an episode no video took has ended (or once the next reset is on its
    way), the video's frames come from the next episode, whose steps are kept: replayed."""
    folders = {}
    for how in ("live", "replay"):
        env = rlvideo.RecordVideo(
            make("CartPole-v1"), str(tmp_path / how), episode_trigger=lambda e: False,
            video_length=7, encoder="thread", replay=how == "replay",
        )  # fmt: skip
        env.reset(seed=3)
        terminated = truncated = False
        while not (terminated or truncated):  # episode 0: no video, nothing kept
            _, _, terminated, truncated, _ = env.step(0)
        env.start_recording("next")  # between episodes: 7 frames, the reset's and 6 steps'
        env.reset()
        for t in range(6):
            env.step(t % 2)
        env.close()
        folders[how] = tmp_path / how
        assert [Path(p).name for p in env.saved_videos] == ["next.mp4"]
    assert (folders["replay"] / "next.replay.npz").exists()  # replayed, not recorded live
    a, b = decode(folders["live"] / "next.mp4"), decode(folders["replay"] / "next.mp4")
    assert b.count == a.count == 7
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))


def test_a_step_trigger_keeps_every_episode(tmp_path: Path) -> None:
    """A step trigger may start a video inside any episode: every episode keeps its steps."""
    env = rlvideo.RecordVideo(
        make("CartPole-v1"), str(tmp_path), step_trigger=lambda s: s == 1000, encoder="thread",
        replay=True,
    )  # fmt: skip
    replay = env._replay
    assert replay is not None
    env.reset(seed=0)
    for t in range(5):
        env.step(t % 2)
    assert replay._streams[None].episode.logged is True
    assert len(replay._streams[None].episode.actions) == 5
    env.close()


def test_the_loop_never_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    calls = []
    original = CartPoleEnv.render
    monkeypatch.setattr(CartPoleEnv, "render", lambda self: calls.append(1) or original(self))
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), replay=True,
                              episode_trigger=lambda e: True)  # fmt: skip
    roll(env, 3, 30)
    assert calls == []
    env.close()
    assert calls == []  # the renderer renders its own env, in its own process
    assert len(env.saved_videos) == 3
    assert all(decode(path).count > 1 for path in env.saved_videos)


def test_videos_that_end_while_the_renderer_is_busy_go_to_it_in_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One message for many videos (the loop's cost of a video's end); each rendered, verified."""
    from rlvideo.wrappers import _renderer

    batches: list[list[str]] = []
    submit_batch = _renderer.RenderPool.submit_batch

    def spy(self: Any, jobs: list[dict[str, Any]]) -> list[int]:
        names = [Path((job.get("log") or job.get("write") or ("probe",))[0]).name for job in jobs]
        batches.append(names)
        return submit_batch(self, jobs)

    monkeypatch.setattr(_renderer.RenderPool, "submit_batch", spy)
    monkeypatch.setattr(_renderer, "LOOK_EVERY", 3600.0)  # the probe stays unanswered: busy
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              metadata=True, replay=True)  # fmt: skip
    roll(env, 6, 5)
    assert batches == [["probe"]]  # every video ended (but the last) is held
    env.close()
    assert batches == [["probe"], [f"rl-video-episode-{k}.replay.npz" for k in range(6)]]
    for k in range(6):
        data = sidecar(tmp_path / f"rl-video-episode-{k}.json")
        assert data["replay"]["verified"] is True
        assert data["frames"] == decode(tmp_path / f"rl-video-episode-{k}.mp4").count == 6


@pytest.mark.parametrize("video_length", [0, 7])
def test_keep_if_sees_the_counts_live_recording_gives_it(tmp_path: Path, video_length: int) -> None:
    """The loop counts a replayed video's frames, steps, return and end as live recording does."""
    seen: dict[bool, list[tuple[Any, ...]]] = {False: [], True: []}
    for replay in (False, True):

        def keep(meta: Any, replay: bool = replay) -> bool:
            seen[replay].append((Path(meta.path).name, meta.frames, meta.steps,
                                 meta.episode_return, meta.terminated, meta.truncated))  # fmt: skip
            return True

        record("LunarLander-v3", tmp_path / str(replay), episodes=3, steps=90, replay=replay,
               keep_if=keep, video_length=video_length)  # fmt: skip
    assert len(seen[True]) == 3
    assert seen[True] == seen[False]


def test_step_clips_spanning_episodes_replay(tmp_path: Path) -> None:
    """A step trigger starts mid-episode (the replay skips the steps before it) and a fixed
    video_length spans resets: segments of several episodes, each verified."""
    kwargs = {"step_trigger": lambda s: s in (7, 40), "video_length": 25, "episode_trigger": None,
              "track": True}  # fmt: skip
    record("CartPole-v1", tmp_path / "live", episodes=6, steps=15, **kwargs)
    record("CartPole-v1", tmp_path / "replay", episodes=6, steps=15, replay=True, **kwargs)
    for stem in ("rl-video-step-7", "rl-video-step-40"):
        a, b = (
            decode(tmp_path / "live" / f"{stem}.mp4"),
            decode(tmp_path / "replay" / f"{stem}.mp4"),
        )
        assert a.count == b.count == 25
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
        track = f"{stem}.track.jsonl"
        assert (tmp_path / "replay" / track).read_text() == (tmp_path / "live" / track).read_text()
        header, _ = read_replay(tmp_path / "replay" / f"{stem}.replay.npz")
        assert len(header.segments) >= 2  # 25 frames of 15-step episodes span a reset
        assert header.segments[0]["first_event"] > 0


def test_on_video_saved_gets_the_rendered_video(tmp_path: Path) -> None:
    handed = []
    record("CartPole-v1", tmp_path, replay=True, on_video_saved=lambda p, m: handed.append((p, m)))
    assert [Path(p).name for p, _ in handed] == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    for path, meta in handed:
        assert meta.frames == decode(path).count
        assert meta.replay == {"file": Path(path).stem + ".replay.npz", "verified": True}


gym.register(id="GlobalRandomCartPole-v0", entry_point="tests.replay_envs:GlobalRandomCartPole",
             max_episode_steps=200)  # fmt: skip


def test_a_diverging_replay_is_marked_and_later_videos_go_live(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rlvideo.replay")
    env = rlvideo.RecordVideo(
        gym.make("GlobalRandomCartPole-v0", render_mode="rgb_array"), str(tmp_path),
        episode_trigger=lambda e: True, metadata=True, encoder="thread", replay=True,
    )  # fmt: skip
    env.action_space.seed(1)
    env.reset(seed=1)
    for _ in range(12):
        env.step(0 if _ % 2 else 1)
    env.reset(seed=2)  # the first video ends (its render is queued) and the second starts
    env._recorder.poll_renders(wait=True)  # the divergence is known: later videos go live
    for _ in range(12):
        env.step(0 if _ % 2 else 1)
    env.reset(seed=3)  # the third video starts live
    env.step(0)
    env.close()
    first = sidecar(tmp_path / "rl-video-episode-0.json")
    assert first["replay"] == {"file": "rl-video-episode-0.replay.npz", "verified": False,
                               "diverged_at_step": 6, "diverged_at_frame": 6}  # fmt: skip
    assert first["frames"] == decode(tmp_path / "rl-video-episode-0.mp4").count == 6
    assert first["cut_short"] is True
    messages = [r.getMessage() for r in caplog.records if r.name == "rlvideo.replay"]
    assert len(messages) == 2  # the second video had started as a replay: it diverges too
    assert "rl-video-episode-0 diverged at step 6" in messages[0]
    assert "later videos are recorded live" in messages[0]
    assert "rl-video-episode-1 diverged at step 6" in messages[1]
    third = sidecar(tmp_path / "rl-video-episode-2.json")
    assert third["replay"] is None  # live, after the fallback
    assert third["frames"] == decode(tmp_path / "rl-video-episode-2.mp4").count == 2
    assert not (tmp_path / "rl-video-episode-2.replay.npz").exists()


def test_fallback_error_raises(tmp_path: Path) -> None:
    env = rlvideo.RecordVideo(
        gym.make("GlobalRandomCartPole-v0", render_mode="rgb_array"), str(tmp_path),
        episode_trigger=lambda e: True, encoder="thread", replay=True,
        replay_options={"fallback": "error"},
    )  # fmt: skip
    env.reset(seed=1)
    for step in range(10):
        env.step(step % 2)
    with pytest.raises(RLVideoError, match="diverged at step 6"):
        env.close()


def test_keep_if_and_log_all(tmp_path: Path) -> None:
    """keep_if decides on the metadata, without pixels; log="all" keeps every episode's replay
    file, rendered or not, and rlvideo.replay.render makes the others later."""
    env = record("CartPole-v1", tmp_path, episodes=4, steps=20, replay=True,
                 episode_trigger=lambda e: e % 2 == 0, keep_if=lambda m: m.episode == 0,
                 replay_options={"log": "all"})  # fmt: skip
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [Path(p).name for p in env.saved_videos] == ["rl-video-episode-0.mp4"]
    assert [n for n in names if n.endswith(".mp4")] == ["rl-video-episode-0.mp4"]
    assert [n for n in names if n.endswith(".replay.npz")] == [
        f"rl-video-episode-{k}.replay.npz" for k in range(4)
    ]
    results = render([tmp_path / "rl-video-episode-3.replay.npz"])
    assert results[0].verified
    assert results[0].error is None
    assert decode(tmp_path / "rl-video-episode-3.mp4").count == results[0].metadata().frames > 1


def test_render_none_then_render_later(tmp_path: Path) -> None:
    env = record("CartPole-v1", tmp_path, episodes=3, replay=True,
                 replay_options={"render": "none"})  # fmt: skip
    assert env.saved_videos == []
    assert not list(tmp_path.glob("*.mp4"))
    results = render([tmp_path], workers=2)
    assert [Path(r.path).name for r in results if r.path] == [
        f"rl-video-episode-{k}.mp4" for k in range(3)
    ]
    assert all(r.verified for r in results)


def test_render_best_and_worst_at_close(tmp_path: Path) -> None:
    env = record("CartPole-v1", tmp_path, episodes=5, steps=200, replay=True,
                 replay_options={"log": "all", "render": {"best": 1, "worst": 1}},
                 episode_trigger=lambda e: False)  # fmt: skip
    returns = {}
    for path in tmp_path.glob("*.replay.npz"):
        header, _ = read_replay(path)
        returns[header.video["stem"]] = header.video["return"]
    assert len(returns) == 5
    best, worst = max(returns, key=returns.get), min(returns, key=returns.get)  # type: ignore[arg-type]
    assert sorted(Path(p).name for p in env.saved_videos) == sorted({f"{best}.mp4", f"{worst}.mp4"})


def test_render_close_renders_nothing_before_close(tmp_path: Path) -> None:
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              replay=True, replay_options={"render": "close"})  # fmt: skip
    roll(env, 3, 20)
    env._recorder.poll_renders(wait=True)  # nothing was sent
    assert not list(tmp_path.glob("*.mp4"))
    env.close()
    assert len(list(tmp_path.glob("*.mp4"))) == 3


def test_an_env_without_a_spec_is_refused_at_construction(tmp_path: Path) -> None:
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    with pytest.raises(InvalidArgumentError, match="no spec"):
        rlvideo.RecordVideo(CartPoleEnv(render_mode="rgb_array"), str(tmp_path), replay=True)
    with pytest.raises(InvalidArgumentError, match="replay_options has no key 'renders'"):
        rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), replay=True,
                            replay_options={"renders": "none"})  # fmt: skip
    assert not list(tmp_path.iterdir())


def test_a_failure_keeps_the_replay_file_of_the_video_in_progress(tmp_path: Path) -> None:
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              replay=True)  # fmt: skip

    def interrupted_run() -> None:
        with env:
            env.reset(seed=0)
            for _ in range(5):
                env.step(0)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rl-video-episode-0.replay.npz"]
    [result] = render([tmp_path])
    assert result.verified
    assert decode(result.path).count == 6


def ctrl_c_after(target: Any, name: str, monkeypatch: pytest.MonkeyPatch, when: Any) -> list[int]:
    """Patch ``target.name`` to press Ctrl-C (a real SIGINT) right after it returned, once,
    at the first call ``when(args, result)`` accepts; the list holds each call's result."""
    original, calls, pressed = getattr(target, name), [], []

    def then_ctrl_c(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        calls.append(out)
        if not pressed and when(args, out):
            pressed.append(out)
            signal.raise_signal(signal.SIGINT)  # delivered at the next bytecode, as a real one
        return out

    monkeypatch.setattr(target, name, then_ctrl_c)
    return calls


def every_episode_replayed(folder: Path) -> tuple[Any, list[str]]:
    """CartPole, every episode replayed into ``folder``; what ``on_video_saved`` is given."""
    saved: list[str] = []
    env = rlvideo.RecordVideo(
        make("CartPole-v1"), str(folder), episode_trigger=lambda e: True, replay=True,
        on_video_saved=lambda path, meta: saved.append(path),
    )  # fmt: skip
    return env, saved


def run_until_ctrl_c(folder: Path, episodes: int = 40) -> tuple[Any, list[str]]:
    """:func:`every_episode_replayed`, Ctrl-C somewhere inside; ``close()`` as ``with`` does."""
    env, saved = every_episode_replayed(folder)

    def run() -> None:
        with env:
            for episode in range(episodes):
                env.reset(seed=episode)
                for _ in range(8):
                    env.step(episode % 2)
                time.sleep(0.01)  # the renderer renders some while the loop goes on

    with pytest.raises(KeyboardInterrupt):
        run()
    return env, saved


def test_ctrl_c_right_after_videos_were_sent_lists_each_replay_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ctrl-C landing between a batch's send and its bookkeeping waits for the bookkeeping:
    before, the sent videos were still queued, so the cut-off ``close()`` wrote and listed
    their replay files a second time. The videos that ended unrendered are named, with the
    command that renders them."""
    from rlvideo.wrappers._renderer import RenderPool

    def ended_videos(args: Any, ids: Any) -> bool:  # not the probe sent at construction
        return any("log" in job for job in args[0])

    calls = ctrl_c_after(RenderPool, "submit_batch", monkeypatch, ended_videos)
    caplog.set_level(logging.WARNING, logger="rlvideo.replay")
    env, _ = run_until_ctrl_c(tmp_path)
    assert len(calls) == 2  # the probe, then the first batch: the Ctrl-C ended the run
    replays = [Path(p).name for p in env._recorder.replays]
    assert len(replays) == len(set(replays)) >= 1
    assert sorted(replays) == sorted(p.name for p in tmp_path.glob("*.replay.npz"))
    said = [record.getMessage() for record in caplog.records]
    folder_command = f"rlvideo render {tmp_path}"  # renders each replay file without a video
    unrendered = [message for message in said if "that ended were not rendered" in message]
    assert all(message.endswith(folder_command) for message in unrendered), unrendered
    for name in replays:  # each video is rendered, or a warning names it or its folder
        stem = name.removesuffix(".replay.npz")
        named = name in caplog.text or bool(unrendered)
        assert (tmp_path / f"{stem}.mp4").exists() or named, caplog.text
    for result in render([tmp_path]):  # every one renders from its file, verified
        assert result.verified


def test_ctrl_c_right_after_renders_came_back_reports_each_video_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C landing after the renderer's results were taken waits until they are handled:
    before, those videos were on disk but never in ``saved_videos`` nor given to
    ``on_video_saved``."""
    from rlvideo.wrappers._renderer import RenderPool

    pressed: list[Any] = []

    def rendered(args: Any, results: Any) -> bool:  # a video's render (not the probe's)
        if any(result.path for _, result in results):
            pressed.extend(results)
            return True
        return False

    ctrl_c_after(RenderPool, "results", monkeypatch, rendered)
    env, saved = run_until_ctrl_c(tmp_path)
    taken = [Path(result.path).name for _, result in pressed if result.path]
    assert taken  # the Ctrl-C came right after these renders were taken
    names = [Path(p).name for p in env.saved_videos]
    assert set(taken) <= set(names)
    assert set(taken) <= {Path(p).name for p in saved}
    assert len(names) == len(set(names))
    assert all((tmp_path / name).is_file() for name in names)
    assert all(not p.name.startswith(".") for p in tmp_path.iterdir())  # no render's leftovers


def visible_videos(folder: Path) -> list[str]:
    """The videos in ``folder`` (not a writer's hidden files), sorted."""
    return sorted(p.name for p in folder.glob("*.mp4") if not p.name.startswith("."))


def wait_for_videos(folder: Path, count: int) -> None:
    """Until ``count`` videos are in ``folder`` (renders finished), and a little more: their
    results are sent just after. A minute at most (then the test fails on its checks)."""
    deadline = time.monotonic() + 60
    while len(visible_videos(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)


def assert_three_saved(env: Any, saved: list[Any], folder: Path) -> None:
    """Three videos on disk, each in ``saved_videos`` and given to ``on_video_saved``."""
    rendered = visible_videos(folder)
    assert len(rendered) == 3
    assert sorted(Path(p).name for p in env.saved_videos) == rendered
    assert sorted(Path(p).name for p in saved) == rendered


def test_ctrl_c_outside_the_env_saves_the_renders_that_came_back(tmp_path: Path) -> None:
    """A Ctrl-C during the training step (not in the env): ``close()``, cut off, still takes
    the renders that had come back before it stops the renderers (they were on disk, but
    neither in ``saved_videos`` nor given to ``on_video_saved``)."""
    env, saved = every_episode_replayed(tmp_path)

    def run() -> None:
        with env:
            roll(env, 3, 8)
            env.reset(seed=99)
            env.step(0)
            env._recorder.send_ended()  # as RLlib's runner does where the env waits
            wait_for_videos(tmp_path, 3)  # the update step: the env waits
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run()
    assert_three_saved(env, saved, tmp_path)


def test_ctrl_c_in_on_video_saved_loses_none_of_the_renders_taken_with_it(
    tmp_path: Path,
) -> None:
    """Ctrl-C inside ``on_video_saved`` (it may interrupt the user's code) leaves the renders
    taken with that one for the next call: a cut-off ``close()`` saves them."""
    saved: list[str] = []

    def on_video_saved(path: Any, meta: Any) -> None:
        saved.append(path)
        if len(saved) == 1:
            signal.raise_signal(signal.SIGINT)

    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              replay=True, on_video_saved=on_video_saved)  # fmt: skip

    def run() -> None:
        with env:
            roll(env, 3, 8)
            env.reset(seed=99)
            env._recorder.send_ended()
            wait_for_videos(tmp_path, 3)  # all three renders come back in one call
            for _ in range(2000):  # as each step's poll does (it looks every 5 ms)
                env._recorder.poll_renders()
                time.sleep(0.001)

    with pytest.raises(KeyboardInterrupt):
        run()
    assert_three_saved(env, saved, tmp_path)


def record_vector(folder: Path, seed: Any, mode: str = "sync", **options: Any) -> Any:
    from rlvideo.wrappers.vector import RecordVideo

    spawn = {"vector_kwargs": {"context": "spawn"}} if mode == "async" else {}  # JAX: no fork
    envs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode=mode,
                        render_mode="rgb_array", **spawn)  # fmt: skip
    envs = RecordVideo(envs, str(folder), per_env=True, episode_trigger=lambda e: e < 3,
                       metadata=True, track=True, encoder="thread", **options)  # fmt: skip
    envs.action_space.seed(3)
    envs.reset(seed=seed)
    for _ in range(80):
        envs.step(envs.action_space.sample())
    envs.close()
    return envs


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_per_env_vector_videos_replay(tmp_path: Path, mode: str) -> None:
    """Sub-envs autoreset inside the vector step: the RNG state is taken before that step
    (async: fetched from the worker processes)."""
    record_vector(tmp_path / "live", [1, 2, 3])
    envs = record_vector(tmp_path / "replay", [1, 2, 3], mode, replay=True)
    videos = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert len(videos) >= 6  # at least two episodes of each sub-env ended in 80 steps
    assert sorted(Path(p).name for p in envs.saved_videos) == videos
    for name in videos:
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert a.count == b.count
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
        track = name.replace(".mp4", ".track.jsonl")
        assert (tmp_path / "replay" / track).read_text() == (tmp_path / "live" / track).read_text()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_unseeded_vector_sub_envs_replay_verified(tmp_path: Path, mode: str) -> None:
    envs = record_vector(tmp_path, None, mode, replay=True)
    sidecars = [sidecar(p) for p in tmp_path.glob("*.json")]
    assert len(sidecars) == len(envs.saved_videos) >= 6
    assert all(data["replay"]["verified"] for data in sidecars)
    assert all(data["frames"] == decode(tmp_path / data["path"]).count for data in sidecars)


def test_a_masked_reset_replays_and_adds_no_frame_to_a_sub_env_left_alone(tmp_path: Path) -> None:
    """``reset_mask`` resets sub-env 0 mid-video; sub-env 1 goes on, and its video too."""
    from rlvideo.wrappers.vector import RecordVideo

    def run(folder: Path, **options: Any) -> None:
        envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                            render_mode="rgb_array")  # fmt: skip
        envs = RecordVideo(envs, str(folder), per_env=True, episode_trigger=lambda e: e == 0,
                           encoder="thread", **options)  # fmt: skip
        envs.reset(seed=0)
        for t in range(5):
            envs.step(np.array([t % 2, t % 2]))
        envs.reset(options={"reset_mask": np.array([True, False])})
        for t in range(5):
            envs.step(np.array([t % 2, t % 2]))
        envs.close()

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True)
    counts = {"rl-video-env-0-episode-0.mp4": 6, "rl-video-env-1-episode-0.mp4": 11}
    assert sorted(p.name for p in (tmp_path / "replay").glob("*.mp4")) == sorted(counts)
    for name, count in counts.items():
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert a.count == b.count == count  # 1 + 10 steps: the masked reset adds no frame to env 1
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))


def run_tiled(folder: Path, mode: str = "sync", **options: Any) -> Any:
    """A tiled vector video's run: seeded, sub-env 0 reset by a mask mid-video, then the others
    (each a frame one sub-env sits out), and a video starting inside the others' episodes."""
    from rlvideo.wrappers.vector import RecordVideo

    spawn = {"vector_kwargs": {"context": "spawn"}} if mode == "async" else {}  # JAX: no fork
    envs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode=mode,
                        render_mode="rgb_array", **spawn)  # fmt: skip
    envs = RecordVideo(envs, str(folder), metadata=True, track=True, encoder="thread", **options)
    envs.action_space.seed(3)
    envs.reset(seed=[1, 2, 3])
    for t in range(70):
        envs.step(envs.action_space.sample())
        if t in (12, 40):
            envs.reset(options={"reset_mask": np.array([t == 12, t == 40, t == 40])})
    envs.close()
    return envs


def assert_same_videos(live: Path, replayed: Path, count: int, exact: bool = True) -> list[str]:
    """The same videos, frame for frame (``exact``, else within a level on average), tracks
    and all, every replay verified."""
    names = sorted(p.name for p in live.glob("*.mp4"))
    assert len(names) == count
    assert sorted(p.name for p in replayed.glob("*.mp4")) == names
    for name in names:
        a, b = decode(live / name), decode(replayed / name)
        assert a.count == b.count > 1
        assert (a.width, a.height) == (b.width, b.height)
        if exact:
            assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True)), name
        else:
            assert np.abs(np.stack(a.frames).astype(int) - np.stack(b.frames)).mean() < 1, name
        track = name.replace(".mp4", ".track.jsonl")
        assert (replayed / track).read_text() == (live / track).read_text()
        was, now = (sidecar(folder / name.replace(".mp4", ".json")) for folder in (live, replayed))
        assert now.pop("replay")["verified"] is True
        assert was.pop("replay") is None  # live
        assert now == was  # steps, return, ends: the metadata counts what live counted
    return names


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tiled_vector_videos_replay(tmp_path: Path, mode: str) -> None:
    """One video of every sub-env tiled, episodes counted on sub-env 0: the others replayed
    beside it from their own resets, also where a video starts inside their episodes."""
    triggers = {"episode_trigger": lambda e: e in (0, 2)}
    run_tiled(tmp_path / "live", **triggers)
    run_tiled(tmp_path / "replay", mode, replay=True, **triggers)
    names = assert_same_videos(tmp_path / "live", tmp_path / "replay", 2)
    assert decode(tmp_path / "replay" / names[0]).width == 1200  # 2 x 2 tiles of 600 x 400


def test_tiled_vector_replay_takes_a_selection_step_clips_and_unseeded_resets(
    tmp_path: Path,
) -> None:
    options = {"envs_to_record": [0, 2], "step_trigger": lambda s: s in (5, 30),
               "video_length": 20}  # fmt: skip
    run_tiled(tmp_path / "live", **options)
    run_tiled(tmp_path / "replay", replay=True, **options)
    assert assert_same_videos(tmp_path / "live", tmp_path / "replay", 2) == [
        "rl-video-step-30.mp4", "rl-video-step-5.mp4",
    ]  # fmt: skip
    from rlvideo.wrappers.vector import RecordVideo

    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                        render_mode="rgb_array")  # fmt: skip
    envs = RecordVideo(envs, str(tmp_path / "unseeded"), episode_trigger=lambda e: e < 4,
                       metadata=True, encoder="thread", replay=True)  # fmt: skip
    envs.reset()
    ended = 0
    while ended < 2:  # unseeded: however long env 0's episodes are, two of them and a third begun
        _, _, terminated, truncated, _ = envs.step(envs.action_space.sample())
        ended += bool(terminated[0] or truncated[0])
    envs.step(envs.action_space.sample())
    envs.close()
    sidecars = [sidecar(p) for p in (tmp_path / "unseeded").glob("*.json")]
    assert len(sidecars) == len(envs.saved_videos) == 3
    assert all(data["replay"]["verified"] for data in sidecars)
    assert all(data["frames"] == decode(tmp_path / "unseeded" / data["path"]).count
               for data in sidecars)  # fmt: skip


def test_tiled_replay_keeps_a_fractional_aspect_and_a_hand_start_before_a_masked_reset(
    tmp_path: Path,
) -> None:
    """``video_aspect_ratio=(1.5, 1)`` (7 sub-envs: a 3 x 3 grid, 4 x 2 at 1:1); a video started
    by hand whose first frame is a masked reset that leaves sub-env 0 alone counts no step."""
    from rlvideo.wrappers.vector import RecordVideo

    def run(folder: Path, **options: Any) -> None:
        envs = gym.make_vec("CartPole-v1", num_envs=7, vectorization_mode="sync",
                            render_mode="rgb_array")  # fmt: skip
        envs = RecordVideo(envs, str(folder), video_aspect_ratio=(1.5, 1), metadata=True,
                           track=True, step_trigger=lambda s: False, encoder="thread",
                           **options)  # fmt: skip
        envs.reset(seed=list(range(7)))
        for _ in range(3):
            envs.step(np.zeros(7, np.int64))
        envs.start_recording("by-hand")
        envs.reset(options={"reset_mask": np.array([False] + [True] * 6)})
        for _ in range(3):
            envs.step(np.ones(7, np.int64))
        envs.close()

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True)
    [name] = assert_same_videos(tmp_path / "live", tmp_path / "replay", 1)
    video = decode(tmp_path / "replay" / name)
    assert (video.width, video.height) == (1800, 1200)
    assert sidecar(tmp_path / "replay" / "by-hand.json")["steps"] == 3


def test_vector_replay_needs_an_autoreset_it_can_follow(tmp_path: Path) -> None:
    from rlvideo.wrappers.vector import RecordVideo

    sync = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                        render_mode="rgb_array")  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="pass per_env=True"):
        RecordVideo(sync, str(tmp_path), replay=True, replay_options={"log": "all"})
    disabled = {"autoreset_mode": gym.vector.AutoresetMode.DISABLED}
    no_reset = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                            render_mode="rgb_array", vector_kwargs=disabled)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="needs next-step or same-step autoreset"):
        RecordVideo(no_reset, str(tmp_path), replay=True, per_env=True)
    same = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP, "context": "spawn"}
    same_step = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="async",
                             render_mode="rgb_array", vector_kwargs=same)  # fmt: skip
    try:
        with pytest.raises(InvalidArgumentError, match="same-step autoreset needs sync sub-envs"):
            RecordVideo(same_step, str(tmp_path), replay=True, per_env=True)
    finally:
        same_step.close()
    assert not list(tmp_path.iterdir())


def run_same_step(
    env_id: str, folder: Path, *, steps: int, seeds: list[int], action_seed: int, **options: Any
) -> Any:
    """Random actions on 2 sync sub-envs that autoreset in the step, recorded with ``options``."""
    from rlvideo.wrappers.vector import RecordVideo

    same = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", render_mode="rgb_array",
                        vector_kwargs=same)  # fmt: skip
    envs = RecordVideo(envs, str(folder), metadata=True, track=True, encoder="thread", **options)
    envs.action_space.seed(action_seed)
    envs.reset(seed=seeds)
    for _ in range(steps):
        envs.step(envs.action_space.sample())
    envs.close()
    return envs


@pytest.mark.parametrize("per_env", [True, False], ids=["per-env", "tiled"])
def test_same_step_vector_videos_replay(tmp_path: Path, per_env: bool) -> None:
    """Same-step autoreset resets a sub-env inside the vector step: its RNG state is taken
    there (LunarLander draws from it in its steps too), the step's digest is of
    ``info["final_obs"]``, and the step is counted to the episode it ended."""
    pytest.importorskip("Box2D")

    def run(folder: Path, **options: Any) -> Any:
        trigger = {"episode_trigger": lambda e: e < 3}
        return run_same_step("LunarLander-v3", folder, steps=260, seeds=[5, 6], action_seed=4,
                             per_env=per_env, **trigger, **options)  # fmt: skip

    run(tmp_path / "live")
    envs = run(tmp_path / "replay", replay=True)
    count = len(list((tmp_path / "live").glob("*.mp4")))
    assert count >= (4 if per_env else 2)  # episodes ended in the run, each reset inside a step
    # Tiled, the second video starts inside sub-env 1's episode, which the first video drew:
    # LunarLander's flames fade as they are drawn (render changes the env), and the replay
    # does not draw the frames before its video: a fraction of a level apart
    assert_same_videos(tmp_path / "live", tmp_path / "replay", count, exact=per_env)
    assert "reset" not in envs.env.unwrapped.envs[0].__dict__  # its own reset given back


gym.register(id="OneBufferCartPole-v0", entry_point="tests.replay_envs:OneBufferCartPole",
             max_episode_steps=500, disable_env_checker=True)  # fmt: skip


def test_same_step_episodes_logged_only_render_as_live_even_from_one_buffer(
    tmp_path: Path,
) -> None:
    """Same-step autoreset, one video per sub-env: an episode only logged (``log="all"``)
    renders later with live's frames (the step that ended it shows the next reset, so it has
    no frame), and an env that fills one observation array again is digested before its
    reset refills it (``info["final_obs"]`` shows the new episode's by then)."""
    from rlvideo.replay import render

    def run(folder: Path, trigger: Any, **options: Any) -> Any:
        return run_same_step("OneBufferCartPole-v0", folder, steps=80, seeds=[1, 2],
                             action_seed=3, per_env=True, episode_trigger=trigger,
                             **options)  # fmt: skip

    run(tmp_path / "live", lambda e: True)
    envs = run(tmp_path / "replay", lambda e: e == 0, replay=True, replay_options={"log": "all"})
    assert "step" not in envs.env.unwrapped.envs[0].__dict__  # its own step given back
    rendered = sorted(p.name for p in (tmp_path / "replay").glob("*.mp4"))
    assert rendered == ["rl-video-env-0-episode-0.mp4", "rl-video-env-1-episode-0.mp4"]
    logged = sorted((tmp_path / "replay").glob("*.replay.npz"))  # the two rendered ones again
    results = render([str(p) for p in logged], video_folder=str(tmp_path / "later"))
    assert all(result.verified for result in results)
    count = len(list((tmp_path / "live").glob("*.mp4")))
    assert count >= 5  # episodes ended inside a step: their replay files rendered later
    assert_same_videos(tmp_path / "live", tmp_path / "later", count)


def test_a_same_step_video_whose_first_step_ends_an_episode_counts_that_step(
    tmp_path: Path,
) -> None:
    """A tiled video started by hand one step before sub-env 0's episode ends: that step is
    counted (live shows the next reset for it), and the replay counts it too."""
    from rlvideo.wrappers.vector import RecordVideo

    left = np.zeros(3, np.int64)  # CartPole falls over pushed left, in about 10 steps

    def make() -> Any:
        same = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        return gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync",
                            render_mode="rgb_array", vector_kwargs=same)  # fmt: skip

    probe = make()
    probe.reset(seed=[1, 2, 3])
    end = next(t for t in range(100) if probe.step(left)[2][0])
    probe.close()

    def run(folder: Path, **options: Any) -> None:
        envs = RecordVideo(make(), str(folder), step_trigger=lambda s: False, video_length=10,
                           metadata=True, track=True, encoder="thread", **options)  # fmt: skip
        envs.reset(seed=[1, 2, 3])
        for _ in range(end):
            envs.step(left)
        envs.start_recording("by-hand")
        for _ in range(12):
            envs.step(left)
        envs.close()

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True)
    assert_same_videos(tmp_path / "live", tmp_path / "replay", 1)
    assert sidecar(tmp_path / "replay" / "by-hand.json")["steps"] == 10


def test_async_atari_is_refused_for_replay(tmp_path: Path) -> None:
    """ALE's emulator state (its RNG too) stays in the async workers: sync, or live."""
    pytest.importorskip("ale_py")
    from rlvideo.wrappers.vector import RecordVideo

    gym.register_envs(__import__("ale_py"))
    envs = gym.make_vec("ALE/Pong-v5", num_envs=2, vectorization_mode="async",
                        render_mode="rgb_array", vector_kwargs={"context": "spawn"})  # fmt: skip
    try:
        with pytest.raises(InvalidArgumentError, match='vectorization_mode="sync"'):
            RecordVideo(envs, str(tmp_path), replay=True, per_env=True)
    finally:
        envs.close()
    assert not list(tmp_path.iterdir())


def test_eval_video_callback_replays(tmp_path: Path) -> None:
    """SB3's evaluation videos, rendered after the fact: training never renders."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from rlvideo.wrappers.sb3 import EvalVideoCallback

    handed: list[str] = []

    def run(folder: Path, **options: Any) -> EvalVideoCallback:
        eval_env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=40)
        eval_env.reset(seed=0)  # the callback's resets are unseeded: the same in both runs
        callback = EvalVideoCallback(
            eval_env, str(folder), every=64, n_eval_episodes=2, metadata=True, track=True,
            encoder="thread", **options,
        )  # fmt: skip
        model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0)
        model.learn(total_timesteps=128, callback=callback)
        return callback

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True, loggers=lambda path, meta: handed.append(path))
    videos = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert videos == sorted(f"eval-step-{s}-episode-{k}.mp4" for s in (64, 128) for k in (0, 1))
    assert sorted(Path(p).name for p in handed) == videos
    for name in videos:
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert a.count == b.count > 1
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
        assert sidecar(tmp_path / "replay" / name.replace(".mp4", ".json"))["replay"]["verified"]


def test_eval_video_callback_sends_its_videos_before_training_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The eval env steps no more until the next evaluation: no video of it waits meanwhile."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList

    from rlvideo.wrappers import _renderer
    from rlvideo.wrappers.sb3 import EvalVideoCallback

    monkeypatch.setattr(_renderer, "LOOK_EVERY", 3600.0)  # the renderer looks busy all along
    eval_env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=20)
    evaluate = EvalVideoCallback(eval_env, str(tmp_path), every=64, n_eval_episodes=3,
                                 replay=True)  # fmt: skip
    waiting: list[int] = []

    class Look(BaseCallback):  # type: ignore[misc]
        def _on_step(self) -> bool:
            if evaluate.evaluations and not waiting:
                assert evaluate._replay is not None
                waiting.append(len(evaluate._replay._ending))
            return True

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(total_timesteps=64, callback=CallbackList([evaluate, Look()]))
    assert waiting == [0]
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [
        f"eval-step-64-episode-{k}.mp4" for k in range(3)
    ]


def record_sb3(folder: Path, n_envs: int = 1, **options: Any) -> Any:
    from stable_baselines3.common.env_util import make_vec_env

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    rendered = {"render_mode": "rgb_array"}
    venv = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0, env_kwargs=rendered)
    venv = VecVideoRecorder(venv, str(folder), lambda step: step % 30 == 0, video_length=20,
                            metadata=True, track=True, encoder="thread", **options)  # fmt: skip
    venv.reset()
    space = venv.action_space
    space.seed(0)
    for _ in range(100):
        venv.step(np.array([space.sample() for _ in range(n_envs)]))
    venv.close()
    return venv


@pytest.mark.parametrize("n_envs", [1, 3])
def test_sb3_vec_video_recorder_replays(tmp_path: Path, n_envs: int) -> None:
    """SB3 resets an env inside step_wait, and its videos start after a step: both replayed.

    Several envs: SB3 tiles their frames (``tile_images``); each is replayed beside env 0,
    from its own resets, also where a video starts inside its episode."""
    pytest.importorskip("stable_baselines3")
    record_sb3(tmp_path / "live", n_envs)
    venv = record_sb3(tmp_path / "replay", n_envs, replay=True)
    videos = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert len(videos) == 4  # steps 0, 30, 60 and 90 (cut short by close)
    assert sorted(Path(p).name for p in venv.saved_videos) == videos
    for name in videos:
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert a.count == b.count > 1
        assert (b.width, b.height) == ((1200, 800) if n_envs == 3 else (600, 400))
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
        track = name.replace(".mp4", ".track.jsonl")
        assert (tmp_path / "replay" / track).read_text() == (tmp_path / "live" / track).read_text()
        was = sidecar(tmp_path / "live" / name.replace(".mp4", ".json"))
        now = sidecar(tmp_path / "replay" / name.replace(".mp4", ".json"))
        assert now.pop("replay")["verified"] is True
        was.pop("replay")
        assert now == was


def test_sb3_episodes_logged_only_show_what_sb3_shows(tmp_path: Path) -> None:
    """``log="all"`` under SB3: an episode's replay file draws it as SB3's frames showed it.

    ``DummyVecEnv`` resets an env inside the step that ended its episode, so that step's frame
    is the next reset: the episode's video ends a step before it, as the live clip shows.
    """
    pytest.importorskip("stable_baselines3")
    from rlvideo.replay import render

    record_sb3(tmp_path / "live")
    record_sb3(tmp_path / "replay", replay=True, replay_options={"log": "all"})
    [result] = render([str(tmp_path / "replay" / "rl-video-episode-0.replay.npz")],
                      video_folder=str(tmp_path / "later"))  # fmt: skip
    assert result.verified
    episode = decode(tmp_path / "later" / "rl-video-episode-0.mp4")
    clip = decode(tmp_path / "live" / "rl-video-step-0-to-step-20.mp4")
    assert 1 < episode.count < clip.count  # the clip goes on into episode 1
    for x, y in zip(episode.frames, clip.frames[: episode.count], strict=True):
        assert np.abs(x.astype(int) - y).mean() < 1  # encoded apart: not bit for bit
    meta = sidecar(tmp_path / "later" / "rl-video-episode-0.json")
    assert meta["steps"] == meta["frames"] == episode.count  # its reset frame, not its last step's


def test_sb3_replay_shows_the_rewards_sb3_gave(tmp_path: Path) -> None:
    """Track, overlay and metadata show SB3's rewards: float32, scaled by ``VecNormalize``.

    Pendulum's rewards are not float32-exact; the env under ``DummyVecEnv`` gives float64. A
    ``venv.reset()`` by hand mid-video is replayed too.
    """
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from rlvideo.wrappers.sb3 import VecVideoRecorder

    def run(folder: Path, **options: Any) -> None:
        rendered = {"render_mode": "rgb_array"}
        made = make_vec_env("Pendulum-v1", n_envs=1, seed=0, env_kwargs=rendered)
        venv = VecVideoRecorder(VecNormalize(made), str(folder), lambda step: step % 30 == 0,
                                video_length=20, metadata=True, track=True, encoder="thread",
                                **options)  # fmt: skip
        venv.reset()
        rng = np.random.default_rng(0)
        for step in range(70):
            if step == 40:
                venv.reset()
            venv.step(rng.uniform(-2, 2, size=(1, 1)).astype(np.float32))
        venv.close()

    run(tmp_path / "live")
    run(tmp_path / "replay", replay=True)
    videos = sorted(p.name for p in (tmp_path / "live").glob("*.mp4"))
    assert len(videos) == 3
    for name in videos:
        track = name.replace(".mp4", ".track.jsonl")
        shown = (tmp_path / "live" / track).read_text()
        assert (tmp_path / "replay" / track).read_text() == shown
        rewards = [json.loads(row)["reward"] for row in shown.splitlines()[1:]]
        assert all(-10.0 <= r <= 10.0 for r in rewards)  # VecNormalize's clip, not Pendulum's -16
        was = sidecar(tmp_path / "live" / name.replace(".mp4", ".json"))
        now = sidecar(tmp_path / "replay" / name.replace(".mp4", ".json"))
        assert now.pop("replay")["verified"] is True
        was.pop("replay")
        assert now == was
        a, b = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))


def test_wrappers_that_record_live_refuse_replay(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlvideo.wrappers.pettingzoo import RecordVideo as ParallelRecordVideo
    from rlvideo.wrappers.sb3 import VecVideoRecorder, _replayable_envs

    venv = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array"),
                        lambda: gym.make("CartPole-v1", render_mode="rgb_array",
                                         max_episode_steps=50)])  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="every env made from one spec"):
        VecVideoRecorder(venv, str(tmp_path), lambda s: s == 0, replay=True)
    with pytest.raises(InvalidArgumentError, match=r"needs a DummyVecEnv \(its envs are in"):
        _replayable_envs(SimpleNamespace(unwrapped=object()))  # SubprocVecEnv's envs: elsewhere
    pettingzoo = pytest.importorskip("pettingzoo.butterfly.pistonball_v6")
    with pytest.raises(InvalidArgumentError, match="this one records live: drop replay=True"):
        ParallelRecordVideo(pettingzoo.parallel_env(render_mode="rgb_array"), str(tmp_path),
                            replay=True)  # fmt: skip


gym.register(id="OwnRngCartPole-v0", entry_point="tests.replay_envs:OwnRngCartPole",
             max_episode_steps=200)  # fmt: skip


def test_an_env_with_a_generator_of_its_own_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match=r"OwnRngCartPole\.noise is a random generator"):
        rlvideo.RecordVideo(gym.make("OwnRngCartPole-v0", render_mode="rgb_array"),
                            str(tmp_path), replay=True)  # fmt: skip
    assert not list(tmp_path.iterdir())


gym.register(id="DictActionCartPole-v0", entry_point="tests.replay_envs:DictActionCartPole",
             max_episode_steps=200, disable_env_checker=True)  # fmt: skip


def test_actions_that_are_not_numbers_or_arrays_are_refused_at_the_first_step(
    tmp_path: Path,
) -> None:
    env = rlvideo.RecordVideo(gym.make("DictActionCartPole-v0", render_mode="rgb_array"),
                              str(tmp_path), replay=True, encoder="thread")  # fmt: skip
    env.reset(seed=0)
    with pytest.raises(InvalidArgumentError, match="actions are dict: record live"):
        env.step({"push": 1})
    env.close()


def test_a_killed_renderer_loses_no_replay_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The renderer process dies (a kill): the replay files it had not written yet are written
    by the wrapper, the videos it had not rendered are said lost (render them later), and the
    later videos are recorded live."""
    caplog.set_level(logging.WARNING, logger="rlvideo.replay")
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              encoder="thread", replay=True)  # fmt: skip
    env._recorder.poll_renders(wait=True)  # the renderer started and made the env
    env._recorder._pool._workers[0].process.kill()  # the injection point: a dead renderer
    env._recorder._pool._workers[0].process.wait()
    roll(env, 3, 20)
    env.close()
    replays = sorted(p.name for p in tmp_path.glob("*.replay.npz"))
    assert replays == ["rl-video-episode-0.replay.npz"]  # sent to the dead renderer: kept
    header, arrays = read_replay(tmp_path / replays[0])
    assert len(arrays["digests_0"]) == header.video["frames"] > 1
    assert "rl-video-episode-0 could not be rendered: the rlvideo renderer process died" in (
        caplog.text
    )
    assert "later videos are recorded live" in caplog.text
    for k in (1, 2):  # live, after the fallback
        assert decode(tmp_path / f"rl-video-episode-{k}.mp4").count > 1
    [result] = render([tmp_path / replays[0]])
    assert result.verified
    assert decode(result.path).count == header.video["frames"]


def test_a_replay_file_the_renderer_never_wrote_is_written_here_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``render="close"``: the renderer dies before writing; the wrapper writes the files, and
    that is no error (the run ends cleanly; the videos are said lost, to render later)."""
    caplog.set_level(logging.WARNING, logger="rlvideo.replay")
    env = rlvideo.RecordVideo(
        make("CartPole-v1"),
        str(tmp_path),
        episode_trigger=lambda e: True,
        encoder="thread",
        replay=True,
        replay_options={"render": "close"},
    )
    env._recorder.poll_renders(wait=True)  # the renderer started and made the env
    env._recorder._pool._workers[0].process.kill()  # the injection point: a dead renderer
    env._recorder._pool._workers[0].process.wait()
    roll(env, 2, 20)
    env.close()  # raised "cannot write ..." before
    assert "cannot write" not in caplog.text
    replays = sorted(tmp_path.glob("*.replay.npz"))
    assert [p.name for p in replays] == ["rl-video-episode-0.replay.npz",
                                         "rl-video-episode-1.replay.npz"]  # fmt: skip
    assert all(result.verified for result in render(replays))


def test_a_killed_training_process_leaves_its_renderer_to_finish(tmp_path: Path) -> None:
    """SIGKILL of the training process: the renderer finishes the jobs it was sent."""
    import signal
    import time

    code = f"""
import os, signal, sys
import gymnasium as gym
import rlvideo
env = rlvideo.RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), {str(tmp_path)!r},
                          episode_trigger=lambda e: True, metadata=True, replay=True)
env.action_space.seed(0)
env.reset(seed=0)
for episode in range(2):
    for _ in range(15):
        env.step(env.action_space.sample())
    env.reset()  # the video ends: its job goes to the renderer
env._recorder.send_ended()  # what ended while the renderer was busy is sent
env._recorder._pool._workers[0].flush(wait=True)
print(env._recorder._pool._workers[0].process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    renderer = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 60
    while Path(f"/proc/{renderer}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the orphaned renderer to finish, not a timing
    assert not Path(f"/proc/{renderer}").exists(), "the renderer outlived its jobs"
    for k in (0, 1):
        data = sidecar(tmp_path / f"rl-video-episode-{k}.json")
        assert data["replay"]["verified"] is True
        assert data["frames"] == decode(tmp_path / f"rl-video-episode-{k}.mp4").count == 16
    assert not (tmp_path / "rl-video-episode-2.mp4").exists()  # in progress: lost with it


@pytest.mark.parametrize("dropped", [False, True])
def test_videos_that_ended_are_rendered_after_an_exit_without_close(
    tmp_path: Path, dropped: bool
) -> None:
    """Those waiting for the next batch too: sent at interpreter exit, or when the wrapper is
    dropped (garbage-collected) before it."""
    import time

    code = f"""
import gc
import gymnasium as gym
import rlvideo
from rlvideo.wrappers import _renderer
_renderer.LOOK_EVERY = 3600.0  # the renderer looks busy all along: the videos wait
def run():
    env = rlvideo.RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"),
                              {str(tmp_path)!r}, episode_trigger=lambda e: True, metadata=True,
                              replay=True)
    env.action_space.seed(0)
    env.reset(seed=0)
    for episode in range(3):
        for _ in range(5):
            env.step(env.action_space.sample())
        env.reset()
    assert len(env._recorder._ending) == 3
    print(env._recorder._pool._workers[0].process.pid, flush=True)
    return env
env = run()
if {dropped!r}:
    del env
    gc.collect()
"""  # and no close()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    renderer = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 60
    while Path(f"/proc/{renderer}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the orphaned renderer to finish, not a timing
    assert not Path(f"/proc/{renderer}").exists(), "the renderer outlived its jobs"
    for k in range(3):
        data = sidecar(tmp_path / f"rl-video-episode-{k}.json")
        assert data["replay"]["verified"] is True
        assert data["frames"] == decode(tmp_path / f"rl-video-episode-{k}.mp4").count == 6
    assert not (tmp_path / "rl-video-episode-3.mp4").exists()  # in progress: lost with it


def test_an_error_in_close_keeps_every_video_that_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keep_if raising for the video close() ends: raised once the others are rendered."""
    from rlvideo.wrappers import _renderer

    monkeypatch.setattr(_renderer, "LOOK_EVERY", 3600.0)  # every video waits for close()

    def keep(meta: Any) -> bool:
        if meta.cut_short:
            raise RuntimeError("tracker down")
        return True

    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              keep_if=keep, metadata=True, replay=True)  # fmt: skip
    roll(env, 4, 5)
    with pytest.raises(InvalidArgumentError, match=r"keep_if raised .*tracker down"):
        env.close()
    for k in range(4):  # the one keep_if failed on is kept, as it says
        data = sidecar(tmp_path / f"rl-video-episode-{k}.json")
        assert data["replay"]["verified"] is True
        assert data["frames"] == decode(tmp_path / f"rl-video-episode-{k}.mp4").count == 6


def test_a_job_that_does_not_pickle_costs_only_its_own_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The others of its batch are sent; its replay file is written in the loop's process."""
    from rlvideo.wrappers import _renderer
    from rlvideo.wrappers._replaying import ReplayRecorder

    monkeypatch.setattr(_renderer, "LOOK_EVERY", 3600.0)  # one batch, at close()
    real = ReplayRecorder._render_job

    def render_job(self: Any, replay: str, video: Any) -> dict[str, Any]:
        job = real(self, replay, video)
        if "episode-1" in replay:
            job["callback"] = lambda: None  # no lambda pickles
        return job

    monkeypatch.setattr(ReplayRecorder, "_render_job", render_job)
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True,
                              metadata=True, replay=True)  # fmt: skip
    roll(env, 3, 5)
    with pytest.raises(RLVideoError, match=r"cannot send .*rl-video-episode-1\.replay\.npz"):
        env.close()
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [
        "rl-video-episode-0.mp4", "rl-video-episode-2.mp4"
    ]  # fmt: skip
    assert render([tmp_path / "rl-video-episode-1.replay.npz"])[0].verified


@pytest.mark.parametrize("nice", [None, 0, 5])
def test_the_renderer_runs_at_a_lower_priority(tmp_path: Path, nice: int | None) -> None:
    options = {} if nice is None else {"nice": nice}
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), replay=True,
                              replay_options=options)  # fmt: skip
    env._recorder.poll_renders(wait=True)  # the renderer started (and niced itself)
    worker = env._recorder._pool._workers[0].process
    lowered = os.getpriority(os.PRIO_PROCESS, worker.pid) - os.getpriority(os.PRIO_PROCESS, 0)
    env.close()
    assert lowered == min(10 if nice is None else nice, 19 - os.getpriority(os.PRIO_PROCESS, 0))
    with pytest.raises(InvalidArgumentError, match="nice'] must be an integer from 0 to 19"):
        rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), replay=True,
                            replay_options={"nice": 20})  # fmt: skip


def test_a_renderer_outlives_sigint_and_sigterm_and_renders_on(tmp_path: Path) -> None:
    """Both go to the whole process group (Ctrl-C in a terminal, a batch system's stop): the
    caller handles them and stops its renderers itself. A renderer ignored them only once pygame
    (CartPole's) had drawn a frame; before, or for an env that does not draw with pygame, it died
    with a traceback, and a killed caller's renderer lost the jobs it had taken."""
    env = rlvideo.RecordVideo(make("CartPole-v1"), str(tmp_path), replay=True,
                              episode_trigger=lambda episode: episode == 1)  # fmt: skip
    env._recorder.poll_renders(wait=True)  # the renderer is up, and has drawn nothing yet
    worker = env._recorder._pool._workers[0].process
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        worker.send_signal(signal_number)
    roll(env, 3, 5)
    env._recorder.poll_renders(wait=True)
    assert worker.poll() is None
    env.close()
    assert [Path(p).name for p in env.saved_videos] == ["rl-video-episode-1.mp4"]
    assert decode(tmp_path / "rl-video-episode-1.mp4").count == 6


def test_each_video_has_the_frame_rate_it_started_with(tmp_path: Path) -> None:
    """``frames_per_sec`` set between videos: each replayed video keeps its own rate."""
    env = rlvideo.RecordVideo(
        make("CartPole-v1"), str(tmp_path), episode_trigger=lambda e: True, encoder="thread",
        replay=True,
    )  # fmt: skip
    for episode, fps in enumerate((50, 15, 50)):
        env.frames_per_sec = fps
        env.reset(seed=episode)
        for t in range(5):
            env.step(t % 2)
    env.close()
    rates = [decode(tmp_path / f"rl-video-episode-{i}.mp4").fps for i in range(3)]
    assert rates == [50, 15, 50]


LEAN_CASES = {
    "cartpole-every-episode": ("CartPole-v1", {}),
    "pendulum-clips-across-episodes": ("Pendulum-v1", {"video_length": 7}),
    "lunar-log-all": (
        "LunarLander-v3",
        {"episode_trigger": lambda e: e % 2 == 1, "replay_options": {"log": "all"}},
    ),
    "cartpole-default-schedule": ("CartPole-v1", {"episode_trigger": None}),
}


def logged_run(folder: Path, env_id: str, lean: bool, **options: Any) -> tuple[Any, ...]:
    """Replay files and keep_if's metadata of a run, its steps taken whole (lean) or not."""
    seen: list[tuple[Any, ...]] = []

    def keep(meta: Any) -> bool:
        seen.append((Path(meta.path).name, meta.frames, meta.steps, meta.episode_return,
                     meta.terminated, meta.truncated))  # fmt: skip
        return True

    replay_options = {"render": "none", **options.pop("replay_options", {})}
    options = {"episode_trigger": lambda e: True, **options}
    env = rlvideo.RecordVideo(make(env_id), str(folder), replay=True, keep_if=keep,
                              replay_options=replay_options, **options)  # fmt: skip
    taken = []
    if lean:
        lean_step = env._replay.lean_step

        def spy(*args: Any) -> bool:
            taken.append(lean_step(*args))
            return taken[-1]

        env._replay.lean_step = spy  # type: ignore[method-assign]
    else:
        env._lean = None  # every step takes the general path
    roll(env, 5, 40)
    env.close()
    files = {path.name: read_replay(path) for path in sorted(folder.glob("*.replay.npz"))}
    return files, seen, taken


@pytest.mark.parametrize("case", list(LEAN_CASES))
def test_steps_taken_whole_log_what_the_general_path_logs(tmp_path: Path, case: str) -> None:
    """ReplayRecorder.lean_step (a fast env's every step) changes nothing in what is kept."""
    env_id, options = LEAN_CASES[case]
    general, general_seen, _ = logged_run(tmp_path / "general", env_id, False, **options)
    lean, lean_seen, taken = logged_run(tmp_path / "lean", env_id, True, **options)
    assert taken.count(True) >= 20  # the lean path did take steps
    assert list(lean) == list(general)
    assert len(lean) >= 2
    for name, (header, arrays) in general.items():
        assert lean[name][0] == header, name
        assert sorted(lean[name][1]) == sorted(arrays)
        for key, values in arrays.items():
            assert np.array_equal(lean[name][1][key], values), (name, key)
    assert lean_seen == general_seen
    assert lean_seen


def late_video(folder: Path, lean: bool) -> tuple[Any, ...]:
    """A video started by hand after an episode that logs nothing ended, stepped on unreset."""
    env = rlvideo.RecordVideo(
        make("CartPole-v1"), str(folder), episode_trigger=lambda e: e == 0, video_length=3,
        replay=True, replay_options={"render": "none"},
    )  # fmt: skip
    if not lean:
        env._lean = None
    for episode in range(2):  # episode 0's video makes the actions' dtype known
        env.reset(seed=1 if episode == 0 else None)
        while not any(env.step(1)[2:4]):
            pass
    env.start_recording("late")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Gymnasium's: stepping after the episode ended
        for _ in range(2):
            env.step(0)
    env.close()
    header, arrays = read_replay(folder / "late.replay.npz")
    return header.segments, {name: values.tolist() for name, values in arrays.items()}


def test_a_video_on_an_episode_that_logs_nothing_logs_no_steps_taken_whole(tmp_path: Path) -> None:
    """An episode found to keep nothing keeps nothing, whichever way its steps go."""
    assert late_video(tmp_path / "lean", True) == late_video(tmp_path / "general", False)


for _name in ("VectorRewardCartPole", "ArrayRewardCartPole"):  # Gymnasium's checker warns
    gym.register(id=f"{_name}-v0", entry_point=f"tests.replay_envs:{_name}",
                 max_episode_steps=500, disable_env_checker=True)  # fmt: skip


@pytest.mark.parametrize("env_id", ["VectorRewardCartPole-v0", "ArrayRewardCartPole-v0"])
def test_rewards_that_are_arrays_record_live_and_replayed(tmp_path: Path, env_id: str) -> None:
    """A multi-objective env's vector (its return NaN) or a one-element array (its number):
    NumPy 2.4 refuses float() of either, and recording took the training loop down with it."""
    for replay in (False, True):
        folder = tmp_path / str(replay)
        env = record(env_id, folder, episodes=2, steps=30, track=True, replay=replay)
        assert len(env.saved_videos) == 2
        for path in env.saved_videos:
            meta = sidecar(Path(path).with_suffix(".json"))
            assert decode(Path(path)).count == meta["frames"] == meta["steps"] + 1 > 1
            if env_id.startswith("Vector"):
                assert meta["episode_return"] is None  # not a number: null, strict JSON
                text = Path(path).with_suffix(".json").read_text()
                read = rlvideo.VideoMetadata.from_dict(parse_sidecar(text, path) or {})
                assert np.isnan(read.episode_return)  # and read back as it was
            else:
                assert meta["episode_return"] == meta["steps"]  # CartPole gives 1 a step
            if replay:
                assert meta["replay"]["verified"] is True
    live = sorted(p.name for p in (tmp_path / "False").glob("*.mp4"))
    assert sorted(p.name for p in (tmp_path / "True").glob("*.mp4")) == live
