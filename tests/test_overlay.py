"""The overlay: text burnt into frames, from 84x84 to 1080p, on every wrapper.

By default the text goes in a band added above the frame (issue 20 part 4: it never covers the
game); ``position=`` a corner puts it in a box inside the frame. Videos are decoded and compared
with the raw frames: the env's rows are the raw frame's within codec noise, the band or the box
holds the text.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("PIL", reason='the overlay needs Pillow: pip install "rlvideo[overlay]"')

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import rlvideo  # noqa: E402
import rlvideo.overlay as overlay_module  # noqa: E402
import rlvideo.wrappers.vector  # noqa: E402
from rlvideo._core.metadata import VideoMetadata, sidecar_problem  # noqa: E402
from rlvideo.errors import InvalidArgumentError, MissingDependencyError  # noqa: E402
from rlvideo.overlay import Overlay, font_size_for, format_value, wrap_widths  # noqa: E402
from tests.helpers import decode, gradient_frames, rms  # noqa: E402


class _Picture(gym.Env):
    """An env rendering a smooth gradient of the given size; episodes of ``length`` steps."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self, height: int, width: int, length: int = 4, read_only: bool = False, gray=False
    ):
        self.observation_space = gym.spaces.Box(0, 1, (1,))
        self.action_space = gym.spaces.Discrete(2)
        self.render_mode = "rgb_array"
        self.frames = gradient_frames(length + 1, height, width)
        if gray:  # (H, W): Atari's preprocessed frames
            self.frames = [np.ascontiguousarray(frame[:, :, 1]) for frame in self.frames]
        if read_only:
            for frame in self.frames:
                frame.flags.writeable = False
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {"x_position": 0.0}

    def step(self, action):
        self.t += 1
        info = {"x_position": 0.5 * self.t}
        return np.zeros(1, np.float32), 1.0, self.t >= len(self.frames) - 1, False, info

    def render(self):
        return self.frames[self.t]


def _outside(mask: np.ndarray, box: tuple[int, int, int, int], border: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask[max(0, y0 - border) : y1 + border, max(0, x0 - border) : x1 + border] = False
    return mask


def _check_only_the_box_changed(decoded_frame, raw, box, border=8):
    x0, y0, x1, y1 = box
    assert x1 - x0 > 10, box
    assert y1 - y0 > 6, box
    inside = np.abs(decoded_frame[y0:y1, x0:x1].astype(int) - raw[y0:y1, x0:x1].astype(int))
    assert inside.mean() > 30, "the box should darken the frame and hold white text"
    outside = _outside(np.ones(raw.shape[:2], bool), box, border)
    assert rms(decoded_frame[outside], raw[outside]) < 3


@pytest.mark.parametrize(
    ("height", "width", "position"),
    [(84, 84, "top-left"), (400, 600, "bottom-right"), (1080, 1920, "top-right")],
)
def test_the_wrapper_burns_the_values_in_the_box_and_nowhere_else(
    tmp_path, height, width, position
):
    env = _Picture(height, width, read_only=True)
    overlay = Overlay(position=position)
    env = rlvideo.RecordVideo(env, str(tmp_path), overlay=overlay, crf=10)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, _ = env.step(0)
    env.close()
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    raw = env.unwrapped.frames
    assert decoded.count == len(raw)
    assert (decoded.height, decoded.width) == (height, width)
    for k, (got, frame) in enumerate(zip(decoded.frames, raw, strict=True)):
        values = {"episode": 0, "step": k, "reward": None if k == 0 else 1.0, "return": float(k)}
        box = overlay.box(height, width, values)
        if position.startswith("top"):
            assert box[1] < height // 4
        else:
            assert box[3] > height * 3 // 4
        if position.endswith("left"):
            assert box[0] < width // 4
        else:
            assert box[2] > width * 3 // 4
        _check_only_the_box_changed(got, frame, box)
    assert all(not frame.flags.writeable for frame in raw)  # read-only frames, left as they were
    assert all(
        rms(frame, fresh) == 0
        for frame, fresh in zip(raw, gradient_frames(5, height, width), strict=True)
    )


def test_the_text_reads_at_84x84_in_a_few_lines_and_on_one_line_at_600x400():
    overlay = Overlay(position="top-left")
    values = {"episode": 3, "step": 120, "reward": 1.0, "return": 120.0}
    small = overlay.box(84, 84, values)
    wide = overlay.box(400, 600, values)
    assert small[2] <= 84  # wrapped, it fits the frame
    assert small[3] - small[1] < 84 * 0.6
    assert (wide[3] - wide[1]) < 30  # one line
    assert wide[2] - wide[0] < 600
    assert font_size_for(84, 84) >= 8
    assert font_size_for(1080, 1920) > 3 * font_size_for(84, 84)


@pytest.mark.parametrize("height", [84, 400, 1080])
def test_every_character_alone_is_drawn(height):
    # a glyph whose ink starts left of the pen ("3" at 8 px) was once cut to nothing
    for char in "0123456789-.+eE abcdefghijklmnopqrstuvwxyz":
        if char == " ":
            continue
        frame = np.zeros((height, height, 3), np.uint8)
        drawn = Overlay(lambda values, char=char: char)(frame, {})
        assert drawn.max() > 80, f"{char!r} left no ink at {height}x{height}"  # 8 px "-": 97


def test_gray_rgba_and_float_frames_get_the_box_too():
    values = {"step": 1}
    overlay = Overlay(["step"], position="top-left")
    gray = overlay(np.full((84, 84), 200, np.uint8), values)
    rgba = overlay(np.full((84, 84, 4), 200, np.uint8), values)
    floats = overlay(np.full((84, 84, 3), 0.5), values)
    assert (gray.shape, rgba.shape, floats.shape) == ((84, 84), (84, 84, 4), (84, 84, 3))
    x0, y0, x1, y1 = overlay.box(84, 84, values)
    for out, base in ((gray, 200), (rgba, 200), (floats, 128)):
        assert (out[y0:y1, x0:x1] != base).mean() > 0.5
        assert (out[y1 + 1 :] == base).all()


def test_the_values_reach_the_overlay_with_actions_and_info(tmp_path):
    seen: list[dict[str, Any]] = []

    def text(values):
        seen.append(dict(values))
        return f"x {values.get('info', {}).get('x_position')}"

    env = rlvideo.RecordVideo(_Picture(48, 64), str(tmp_path), overlay=text)
    env.reset(seed=0)
    for action in (1, 0, 1, 1):
        env.step(action)
    env.close()
    assert [v["step"] for v in seen] == [0, 1, 2, 3, 4]
    assert [v.get("action") for v in seen] == [None, 1, 0, 1, 1]
    assert [v["info"]["x_position"] for v in seen] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [v["return"] for v in seen] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 5


def test_an_info_field_is_shown_by_name():
    overlay = Overlay(["step", "x_position", "missing"])
    assert overlay.text({"step": 2, "info": {"x_position": 1.5}}) == (
        "step 2  x_position 1.50  missing -"
    )


@pytest.mark.parametrize("kind", ["vector", "sb3", "eval"])
def test_every_wrapper_takes_overlay(tmp_path, kind):
    if kind == "vector":
        envs = gym.make_vec("CartPole-v1", num_envs=2, render_mode="rgb_array")
        envs = rlvideo.wrappers.vector.RecordVideo(
            envs, str(tmp_path), per_env=True, episode_trigger=lambda e: e == 0,
            video_length=5, overlay=True,
        )  # fmt: skip
        envs.reset(seed=0)
        for _ in range(6):
            envs.step(envs.action_space.sample())
        envs.close()
        video = tmp_path / "rl-video-env-1-episode-0.mp4"
    else:
        pytest.importorskip("stable_baselines3")
        from stable_baselines3.common.vec_env import DummyVecEnv

        from rlvideo.wrappers.sb3 import EvalVideoCallback, VecVideoRecorder

        venv = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array")])
        if kind == "sb3":
            venv = VecVideoRecorder(
                venv, str(tmp_path), record_video_trigger=lambda s: s == 0, video_length=5,
                overlay=["step", "return"],
            )  # fmt: skip
            venv.reset()
            for _ in range(6):
                venv.step(np.array([venv.action_space.sample()]))
            venv.close()
            video = tmp_path / "rl-video-step-0-to-step-5.mp4"
        else:
            from stable_baselines3 import PPO

            model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, device="cpu")
            callback = EvalVideoCallback(
                venv, str(tmp_path), every=32, n_eval_episodes=1, max_episode_steps=5,
                overlay=True, track=True,
            )  # fmt: skip
            model.learn(32, callback=callback)
            video = next(tmp_path.glob("*.mp4"))
            lines = video.with_suffix(".track.jsonl").read_text().splitlines()
            assert len(lines) == decode(video).count
    decoded = decode(video)
    top_left = decoded.frames[-1][:12, :60].astype(int)
    assert (top_left < 200).mean() > 0.5  # CartPole's white, darkened by the box


# -- bad arguments, missing Pillow ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fields": "step"}, r"non-empty list of names .* got 'step'"),
        ({"fields": []}, r"non-empty list of names"),
        ({"fields": ["step", 3]}, r"non-empty list of names"),
        ({"position": "middle"}, r"one of top, bottom, top-left, top-right, bottom-left, "),
        ({"font_size": 2}, r"font_size must be None \(from the frame\) or pixels >= 4"),
        ({"opacity": 1.5}, r"opacity must be in \[0, 1\], got 1.5"),
    ],
)
def test_bad_arguments_say_what_is_expected(arguments, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Overlay(**arguments)


@pytest.mark.parametrize("bad", ["step", 3, {"step": True}])
def test_a_bad_overlay_option_is_refused_when_the_wrapper_is_made(tmp_path, bad):
    with pytest.raises(InvalidArgumentError, match=r"overlay must be True .* got"):
        rlvideo.RecordVideo(_Picture(48, 64), str(tmp_path), overlay=bad)


def test_a_callable_that_returns_no_text_is_named(tmp_path):
    env = rlvideo.RecordVideo(_Picture(48, 64), str(tmp_path), overlay=lambda values: 3)
    with pytest.raises(InvalidArgumentError, match="overlay callable must return a str, got int"):
        env.reset(seed=0)
    env.close()


def test_apply_needs_as_many_values_as_frames():
    overlay = Overlay(["step"])
    frames = gradient_frames(3)
    assert len(list(overlay.apply(frames, [{"step": i} for i in range(3)]))) == 3
    with pytest.raises(InvalidArgumentError, match="more frames than values"):
        list(overlay.apply(frames, [{"step": 0}]))
    with pytest.raises(InvalidArgumentError, match="more values than frames"):
        list(overlay.apply(frames[:1], [{"step": 0}, {"step": 1}]))


def test_without_pillow_the_error_names_the_extra(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    overlay_module._glyphs.cache_clear()
    message = r'overlay needs PIL.Image: pip install "rlvideo\[overlay\]"'
    with pytest.raises(MissingDependencyError, match=message):
        Overlay()
    with pytest.raises(MissingDependencyError, match=message):
        rlvideo.RecordVideo(_Picture(48, 64), str(tmp_path), overlay=True)
    overlay_module._glyphs.cache_clear()


def test_values_are_formatted_short():
    assert [format_value(v) for v in (None, 2, 1.234, float("nan"), True, "left")] == [
        "-", "2", "1.23", "nan", "True", "left",
    ]  # fmt: skip
    assert wrap_widths([2, 2, 2], 2, 6) == [[0, 1], [2]]
    assert wrap_widths([10, 1], 2, 4) == [[0], [1]]


# -- issue 19, item 17: a field no step's info held is named when the video ends ---------------
def test_a_misspelt_overlay_field_or_track_key_is_named_when_the_video_ends(tmp_path, caplog):
    import gymnasium as gym

    from rlvideo import RecordVideo

    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path), encoder="thread",
        overlay=["stepp", "reward"], track=["x_positon", "seen"],
    )  # fmt: skip

    class Info(gym.Wrapper):
        def step(self, action):
            obs, reward, terminated, truncated, info = self.env.step(action)
            return obs, reward, terminated, truncated, {**info, "x_position": 0.5, "seen": 1}

    env.env = Info(env.env)
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    with caplog.at_level("WARNING", logger="rlvideo.recorder"):
        env.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    (message,) = warnings
    assert "rl-video-episode-0.mp4" in message
    assert "'stepp' (did you mean 'step'?)" in message
    assert "'x_positon' (did you mean 'x_position'?)" in message
    assert "'seen'" not in message.split("never")[0]  # found: not named as missing
    assert "x_position, seen" in message or "seen, x_position" in message  # what info held


def test_fields_found_in_info_raise_no_warning(tmp_path, caplog):
    import gymnasium as gym

    from rlvideo import RecordVideo

    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path), encoder="thread",
        overlay=["step", "reward", "action"], track=True,
    )  # fmt: skip
    env.reset(seed=0)
    env.step(0)
    with caplog.at_level("WARNING", logger="rlvideo.recorder"):
        env.close()
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []


# -- issue 20, part 4: the overlay never hides the game ----------------------------------------
class _KeepRenders(gym.Wrapper):
    """Keeps a copy of every frame the env renders: what the video's env rows must show."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.renders: list[np.ndarray] = []

    def render(self) -> Any:
        frame = self.env.render()
        self.renders.append(np.array(frame))
        return frame


def _record(env: Any, folder: Path, steps: int, **options: Any) -> tuple[Any, _KeepRenders]:
    """Record one video of ``steps`` steps (or until the episode ends) with ``metadata=True``."""
    kept = _KeepRenders(env)
    wrapper = rlvideo.RecordVideo(
        kept, str(folder), metadata=True, track=True, crf=10, overwrite=True, **options
    )
    wrapper.reset(seed=0)
    for _ in range(steps):
        _, _, terminated, truncated, _ = wrapper.step(wrapper.action_space.sample())
        if terminated or truncated:
            break
    wrapper.close()
    return wrapper, kept


def _sidecar(folder: Path, name: str = "rl-video-episode-0") -> dict[str, Any]:
    return json.loads((folder / f"{name}.json").read_text())


def _check_band_video(folder: Path, renders: list[np.ndarray], position: str = "top") -> int:
    """The video is the env's frames plus a band of text; returns the band's height."""
    sidecar = _sidecar(folder)
    assert sidecar_problem(sidecar) == ""
    band = sidecar["overlay"]["band_height"]
    assert sidecar["overlay"] == {"position": position, "band_height": band}
    assert band > 0
    assert band % 2 == 0
    decoded = decode(folder / "rl-video-episode-0.mp4")
    height, width = renders[0].shape[:2]
    assert (decoded.height, decoded.width) == (height + band, width)
    assert decoded.count == len(renders) == sidecar["frames"]
    track = (folder / "rl-video-episode-0.track.jsonl").read_text().splitlines()
    assert len(track) == decoded.count  # a track line per frame, band or not
    for got, raw in zip(decoded.frames, renders, strict=True):
        env_rows, band_rows = (
            (got[band:], got[:band]) if position == "top" else (got[:height], got[height:])
        )
        assert rms(env_rows, raw) < 3.5, "the env's pixels, all of them, within codec noise"
        assert (band_rows.max(axis=2) > 180).mean() > 0.01, "white text in the band"
        assert (band_rows.max(axis=2) < 60).mean() > 0.5, "on black"
    return int(band)


@pytest.fixture(scope="module")
def ale() -> None:
    ale_py = pytest.importorskip("ale_py")
    gym.register_envs(ale_py)


def test_pong_keeps_its_score_the_text_goes_in_a_band_above(tmp_path, ale):
    env = gym.make("ALE/Pong-v5", render_mode="rgb_array")
    env.action_space.seed(0)
    _, kept = _record(env, tmp_path, 40, overlay=True)
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    band = decoded.height - 210
    score = kept.renders[-1][:20]  # Pong's score, top of the screen: in the video, whole
    # yuv420p's chroma on the score's saturated colours: 4.6 without any overlay, 5.3 here
    assert rms(decoded.frames[-1][band : band + 20], score) < 7
    assert _check_band_video(tmp_path, kept.renders) == band
    assert band == Overlay().band_height(210, 160, {})  # two lines at 160 px wide


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_cartpole_through_either_encoder_grows_by_the_band(tmp_path, encoder):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.action_space.seed(0)
    _, kept = _record(env, tmp_path, 15, overlay=True, encoder=encoder)
    assert _check_band_video(tmp_path, kept.renders) == Overlay().band_height(400, 600, {})
    assert _sidecar(tmp_path)["steps"] == len(kept.renders) - 1  # the counts are the env's


def test_a_band_below_keeps_the_env_rows_on_top(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.action_space.seed(0)
    _, kept = _record(env, tmp_path, 8, overlay=Overlay(["step", "x_position"], position="bottom"))
    _check_band_video(tmp_path, kept.renders, position="bottom")


def test_a_corner_box_still_draws_inside_at_the_frames_size(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.action_space.seed(0)
    _, kept = _record(env, tmp_path, 8, overlay=Overlay(position="top-left"))
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (decoded.height, decoded.width) == (400, 600)
    assert _sidecar(tmp_path)["overlay"] == {"position": "top-left", "band_height": 0}
    box = Overlay(position="top-left").box(400, 600, {"episode": 0, "step": 0, "return": 0.0})
    _check_only_the_box_changed(decoded.frames[0], kept.renders[0], box)


def test_without_an_overlay_the_sidecar_says_none(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    _record(env, tmp_path, 3)
    assert _sidecar(tmp_path)["overlay"] is None
    assert decode(tmp_path / "rl-video-episode-0.mp4").height == 400


@pytest.mark.parametrize(
    ("height", "width", "gray"),
    [(84, 84, True), (210, 160, False), (400, 600, False), (45, 45, False), (45, 45, True)],
)
def test_frames_of_every_size_and_kind_get_a_band(tmp_path, height, width, gray):
    env = _Picture(height, width, length=6, gray=gray)
    _, kept = _record(env, tmp_path, 6, overlay=True)
    renders = kept.renders
    even = (height + height % 2, width + width % 2)  # odd frames are padded to even first
    if (height, width) != even:
        renders = [
            np.pad(
                f,
                ((0, even[0] - height), (0, even[1] - width)) + ((0, 0),) * (f.ndim - 2),
                mode="edge",
            )
            for f in renders
        ]
    if gray:  # a gray frame gets a gray band: decoded as RGB, every channel the same
        renders = [np.repeat(f[:, :, None], 3, axis=2) for f in renders]
    band = _check_band_video(tmp_path, renders)
    assert band == Overlay().band_height(*even, {})


@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
@pytest.mark.parametrize(("height", "width"), [(84, 84), (210, 160), (400, 600), (45, 45)])
def test_the_band_keeps_every_pixel_and_the_frames_kind(kind, height, width):
    base = gradient_frames(1, height, width)[0]
    frame = {"gray": base[:, :, 1], "rgb": base, "rgba": np.dstack([base, base[:, :, :1]])}[kind]
    frame = np.ascontiguousarray(frame)
    values = {"episode": 2, "step": 41, "reward": 1.0, "return": 41.0}
    for position in ("top", "bottom"):
        overlay = Overlay(position=position)
        band = overlay.band_height(height, width, values)
        out = overlay(frame, values)
        assert band % 2 == 0
        assert band >= 10
        assert out.shape == (height + band, *frame.shape[1:])  # gray stays gray: one channel
        assert out.shape == overlay.output_shape(frame.shape, values)
        env_rows, band_rows = (
            (out[band:], out[:band]) if position == "top" else (out[:height], out[height:])
        )
        assert (env_rows == frame).all()  # not one pixel of the env's covered
        text = band_rows if kind == "gray" else band_rows[..., :3]
        assert (text > 180).any()
        assert (text == 0).mean() > 0.5
        if kind == "rgba":
            assert (band_rows[..., 3] == 255).all()  # an opaque band
        x0, y0, x1, y1 = overlay.box(height, width, values)
        assert (x0, x1, y1 - y0) == (0, width, band)
        assert y0 == (0 if position == "top" else height)


def test_a_band_keeps_its_height_while_the_text_grows():
    overlay = Overlay(["step", "return", "x_position"])
    out = np.empty(overlay.output_shape((84, 84, 3), {}), np.uint8)
    frame = np.zeros((84, 84, 3), np.uint8)
    big, wordy = (1234567, -98765.4321), (3, "a long info string " * 4)
    for step, value in ((0, 0.0), big, wordy, (1, 0.0)):  # then short again
        values = {"step": step, "return": value, "info": {"x_position": value}}
        assert overlay(frame, values, out=out) is out  # the same buffer: the same size
        assert (out == overlay(frame, values)).all()  # nothing left of the frame before
    calls = []

    def text(values):
        calls.append(values["step"])
        return "\n".join(["line"] * (1 + values["step"]))  # one more line each frame

    overlay = Overlay(text)
    shapes = {overlay(frame, {"step": step}).shape for step in range(4)}
    assert shapes == {(84 + overlay.band_height(84, 84, {}), 84, 3)}  # the first text's lines
    assert calls == [0, 1, 2, 3]  # a callable is called once a frame


def test_out_of_the_wrong_shape_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"uint8 array of shape \(120, 84, 3\)"):
        Overlay()(np.zeros((84, 84, 3), np.uint8), {}, out=np.zeros((84, 84, 3), np.uint8))


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"position": "top", "band_height": 24}, ""),
        (None, ""),
        ({"position": "top"}, "overlay has no band_height"),
        ({"position": "top", "band_height": -2}, "overlay has no band_height"),
        ({"position": "top", "band_height": True}, "overlay has no band_height"),
        ({"band_height": 4}, "overlay has no position"),
        ("top", "overlay is a str; expected an object or null"),
    ],
)
def test_the_sidecars_overlay_record_is_checked(record, problem):
    data = {"path": "a.mp4", "kind": "episode", "overlay": record}
    found = sidecar_problem(data)
    assert found.startswith(problem)
    assert bool(found) == bool(problem)
    if not problem:
        assert VideoMetadata.from_dict(data).overlay == record
