"""``rlvideo record``: run an env with a policy and record its episodes.

The command's options are read once into a :class:`RecordSettings`; the env is run by
:func:`rlvideo._core.rollout.run_episodes` (one env) or
:func:`~rlvideo._core.rollout.run_vector_episodes` (``--num-envs``), wrapped in the library's
``RecordVideo``; the run ends with the videos' table, the episodes' stats and the manifest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from rlvideo._core.formats import FORMATS as VIDEO_FORMATS
from rlvideo._core.metadata import VideoMetadata, sidecar_path
from rlvideo._core.naming import (
    FORMATS,
    check_format,
    check_name_prefix,
    clip_stem,
    is_incomplete_name,
)
from rlvideo._core.replay import REPLAY_SUFFIX
from rlvideo._core.rollout import Episode, run_episodes, run_vector_episodes
from rlvideo._core.track import track_path
from rlvideo.cli._envs import (
    check_renders_images,
    current_folder_importable,
    gymnasium,
    make_env,
    register_env,
)
from rlvideo.cli._errors import UserError, user_errors
from rlvideo.cli._options import (
    DEFAULT_FIELDS,
    field_list,
    parse_env_kwargs,
    parse_storage_options,
)
from rlvideo.cli._progress import Progress
from rlvideo.cli._summary import EpisodeStats, print_summary, video_name
from rlvideo.errors import VideoExistsError
from rlvideo.io.manifest import merge_into
from rlvideo.storage import Destination, open_destination

__all__ = ["RecordSettings", "record"]

logger = logging.getLogger("rlvideo.cli")  # the command's one logger: -v shows "rlvideo.cli: ..."


@dataclass(frozen=True)
class _Keep:
    """``--keep-if``: which recorded videos a run keeps.

    Attributes:
        rule: ``all``, ``failures`` (the episodes that terminated) or ``best``.
        count: With ``best``, how many videos (the highest returns).
    """

    rule: str
    count: int = 0


class _KeepRule(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """``--keep-if all|failures|best|best:N``, parsed into a :class:`_Keep`.

    Example:
        >>> _KeepRule().convert("best:3", None, None), _KeepRule().convert("failures", None, None)
        (_Keep(rule='best', count=3), _Keep(rule='failures', count=0))
    """

    name = "keep_if"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "all|failures|best:N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, _Keep):
            return value
        rule, colon, count = str(value).partition(":")
        if rule in ("all", "failures") and not colon:
            return _Keep(rule)
        if rule == "best" and (not colon or (count.isdigit() and int(count) >= 1)):
            return _Keep("best", int(count) if colon else 1)
        self.fail(
            f"{value!r}: use all, failures, best:N (the N highest returns, N >= 1) or best",
            param,
            ctx,
        )


@dataclass(frozen=True)
class RecordSettings:
    """``rlvideo record``'s options, as click read them (each attribute is its option).

    Built once, from the command's arguments; the functions that plan and run the recording
    take it whole.
    """

    env_id: str
    episodes: int
    policy: str
    algo: str | None
    deterministic: bool | None
    vec_normalize: str | None
    seed: int
    out: str | None
    storage_options: str | None
    video_format: str
    fps: float | None
    video_length: int
    every: int | None
    name_prefix: str
    overlay: str | None
    track: str | None
    env_kwargs: str
    num_envs: int
    per_env: bool
    keep: _Keep
    overwrite: bool | None
    import_modules: tuple[str, ...]
    replay: bool


@dataclass(frozen=True)
class _Target:
    """What the run needs beyond the options: resolved once every check has passed.

    Attributes:
        env_kwargs: ``--env-kwargs``, parsed.
        out: The folder or URL the videos go to (a fresh run folder without ``--out``).
        agent: The loaded ``--policy`` (None: random actions).
        fix: What to add to an unknown-id error (a package to install), or None.
        options: The keyword arguments of the library's ``RecordVideo``.
    """

    env_kwargs: dict[str, Any]
    out: str
    agent: Any
    fix: str | None
    options: Mapping[str, Any]


class _Videos:
    """The videos a run ended and saved, as the wrappers report them (keep_if, on_video_saved)."""

    def __init__(self, keep: _Keep) -> None:
        self.keep = keep
        self.ended: list[VideoMetadata] = []  # every video that ended, before --keep-if chose
        self.saved: list[tuple[Any, VideoMetadata]] = []  # (where, metadata), as each is final

    def keep_if(self, meta: VideoMetadata) -> bool:
        self.ended.append(meta)
        return self.keep.rule != "failures" or meta.terminated

    def on_video_saved(self, where: Any, meta: VideoMetadata) -> None:
        self.saved.append((where, meta))


@click.command()
@click.argument("env_id")
@click.option(
    "--episodes",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Episodes to run (per sub-env with --num-envs); every episode is recorded unless "
    "--every N picks every N-th.",
)
@click.option(
    "--policy",
    default="random",
    show_default=True,
    metavar="POLICY",
    help='"random"; a trained agent: path/to/model.zip (Stable-Baselines3, sb3-contrib) or '
    "path/to/policy.pt (TorchScript); or MODULE:CALLABLE (or path/to/file.py:NAME) taking an "
    "observation and returning an action.",
)
@click.option(
    "--algo",
    default=None,
    metavar="NAME",
    help="The algorithm of a .zip model (ppo, a2c, dqn, sac, td3, ddpg, qrdqn, tqc, trpo, ars, "
    "crossq, recurrentppo, maskableppo). Default: read from the checkpoint.",
)
@click.option(
    "--deterministic/--stochastic",
    default=None,
    help="A .zip model's actions: its most likely (default) or sampled.",
)
@click.option(
    "--vec-normalize",
    default=None,
    metavar="PATH|none",
    help="The VecNormalize pickle the model was trained with. Default: vecnormalize.pkl beside "
    "the model (or rl-baselines3-zoo's <folder>/<env id>/vecnormalize.pkl), if there.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the first episode.")
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    metavar="DIR|URL",
    help="Folder for the videos, sidecars and manifest, or an fsspec URL (s3://bucket/prefix). "
    "Default: a fresh run folder each run, runs/<env>-<date>-<time>/ (as TensorBoard's and "
    "wandb's runs).",
)
@click.option(
    "--storage-options",
    default=None,
    metavar="JSON",
    help='fsspec options for a URL --out, e.g. \'{"client_kwargs": {"endpoint_url": "..."}}\'.',
)
@click.option(
    "--format",
    "video_format",
    default="mp4",
    show_default=True,
    type=click.Choice(list(FORMATS)),
)
@click.option(
    "--fps",
    type=float,
    default=None,
    help="Frames per second. Default: the env's render_fps, else 30.",
)
@click.option(
    "--video-length",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Frames per video; 0 records whole episodes.",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Record episodes 0, N, 2N, ... of the --episodes run. Default: 1 (every episode).",
)
@click.option(
    "--name-prefix",
    default="rl-video",
    show_default=True,
    metavar="PREFIX",
    help="Start of every file name: PREFIX-episode-0.mp4 (PREFIX-env-0-episode-0.mp4 per env).",
)
@click.option(
    "--overlay",
    default=None,
    is_flag=False,
    flag_value=DEFAULT_FIELDS,
    metavar="[FIELDS]",
    help="Burn values into the frames (needs rlvideo[overlay]): alone, episode, step, reward and "
    "return; or comma-separated fields: episode, step, reward, return, action, frame, "
    "terminated, truncated or info keys, e.g. --overlay step,return,x_position.",
)
@click.option(
    "--track",
    default=None,
    is_flag=False,
    flag_value=DEFAULT_FIELDS,
    metavar="[KEYS]",
    help="The data track <stem>.track.jsonl (on by default): comma-separated info keys add those "
    "keys to each line, e.g. --track x_position.",
)
@click.option(
    "--env-kwargs",
    default="{}",
    help="JSON keyword arguments for gymnasium.make, e.g. '{\"g\": 9.81}'.",
)
@click.option(
    "--num-envs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Run a vector env of N sub-envs.",
)
@click.option(
    "--per-env/--tiled",
    default=True,
    show_default=True,
    help="With --num-envs: one video per sub-env, or all tiled in one.",
)
@click.option(
    "--keep-if",
    "--keep",
    "keep",
    default="all",
    show_default=True,
    type=_KeepRule(),
    help="Which recorded videos to keep: all; failures (episodes that terminated, as "
    "keep_if=lambda m: m.terminated); best:N (the N highest returns, ties to the earlier "
    "episode; best is best:1). --keep is the older name.",
)
@click.option(
    "--overwrite/--no-overwrite",
    default=None,
    help="Videos in --out with this run's names: replaced by default (said once); --overwrite "
    "replaces them quietly, --no-overwrite refuses to start.",
)
@click.option(
    "--import",
    "import_modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE before making the env (repeatable): for packages that register envs.",
)
@click.option(
    "--replay/--live",
    default=False,
    show_default=True,
    help="Record now, render later: the loop never renders; a renderer process replays each "
    "video's actions from its <stem>.replay.npz (the env needs a registered spec; see "
    "'rlvideo render').",
)
def record(**values: Any) -> None:
    """Run ENV_ID (any installed Gymnasium env) with a policy and record its episodes.

    The policy is random by default; --policy takes a trained agent (a Stable-Baselines3 or
    sb3-contrib .zip, with the VecNormalize saved beside it; a TorchScript .pt) or
    MODULE:CALLABLE. The packages of well-known ids are imported for you (ALE/... ale-py,
    MiniGrid-... and BabyAI-... minigrid, dm_control/... shimmy); MODULE:ID imports MODULE
    first. Modules in the current folder can be named (MODULE:ID, --import, --policy).
    """
    settings = RecordSettings(**values)  # click passes one argument per option: grouped here
    with user_errors(cli_terms=True), current_folder_importable():
        env_kwargs = parse_env_kwargs(settings.env_kwargs)
        storage = parse_storage_options(settings.storage_options)
        out = str(_run_folder(settings.env_id, _now())) if settings.out is None else settings.out
        destination = open_destination(out, storage)  # a bad URL fails before the env starts
        agent = _load_agent(settings)
        fix = register_env(settings.env_id, settings.import_modules)
        check_renders_images(gymnasium(), settings.env_id)  # before the bar, the env and --out
        check_name_prefix(settings.name_prefix)
        videos = _Videos(settings.keep)
        options = _wrapper_options(settings, storage, videos)
        before = set(destination.list_names())
        planned = _planned_names(
            settings.episodes, settings.every or 1, settings.video_format, settings.num_envs,
            settings.per_env, settings.name_prefix,
        )  # fmt: skip
        overwrite = _check_names_free(destination, before, planned, settings.overwrite)
        target = _Target(env_kwargs, out, agent, fix, {**options, "overwrite": overwrite})
        try:
            if settings.num_envs == 1:
                run = _record_single(settings, target)
            else:
                run = _record_vector(settings, target)
        except KeyboardInterrupt:
            raise _interrupted(destination, videos.saved, before) from None
        saved = videos.saved
        if settings.keep.rule == "best":
            saved = _keep_best(saved, destination, settings.keep.count)
        metas = [meta for _, meta in saved]
        manifest = merge_into(destination, metas)
    if agent is not None:
        click.echo(f"policy: {agent.description}")
    print_summary([meta.to_dict() for meta in metas], run, video_length=settings.video_length)
    click.echo(run.summary())
    click.echo(f"{len(metas)} video(s) in {destination.location}; manifest: {manifest}")
    if not metas:
        click.echo(_why_no_videos(settings.keep, videos.ended))


def _wrapper_options(
    settings: RecordSettings, storage: dict[str, Any] | None, videos: _Videos
) -> dict[str, Any]:
    """The keyword arguments of the library's ``RecordVideo``, but ``overwrite`` (decided later)."""
    step = settings.every or 1
    return {
        "episode_trigger": lambda episode: episode % step == 0,
        "video_length": settings.video_length,
        "fps": settings.fps,
        "format": settings.video_format,
        "name_prefix": settings.name_prefix,
        "metadata": True,
        "keep_if": videos.keep_if,
        "overlay": field_list(settings.overlay, "--overlay"),
        "track": field_list(settings.track, "--track"),
        "storage_options": storage,
        "on_video_saved": videos.on_video_saved,
        "replay": settings.replay,
    }


def _interrupted(
    destination: Destination, saved: list[tuple[Any, VideoMetadata]], before: set[str]
) -> UserError:
    """Ctrl-C: the finished videos' manifest written, and the error that says what was kept."""
    merge_into(destination, [meta for _, meta in saved])
    kept = sorted(
        name for name in set(destination.list_names()) - before if is_incomplete_name(name)
    )
    cut = f"; cut off by the interrupt, kept as: {', '.join(kept)}" if kept else ""
    return UserError(
        f"interrupted: {len(saved)} finished video(s) saved in {destination.location} "
        f"with their manifest{cut}"
    )


def _load_agent(settings: RecordSettings) -> Any:
    """The agent of ``--policy`` (None: random); models load in :mod:`rlvideo.cli._policies`."""
    from rlvideo.cli._policies import load_agent

    bare_id = settings.env_id.partition(":")[2] or settings.env_id
    return load_agent(
        settings.policy, algo=settings.algo, deterministic=settings.deterministic,
        vecnormalize=settings.vec_normalize, env_id=bare_id, seed=settings.seed,
    )  # fmt: skip


def _planned_names(
    episodes: int, every: int, video_format: str, num_envs: int, per_env: bool,
    name_prefix: str = "rl-video",
) -> list[str]:  # fmt: skip
    """The video names a run will write: episodes 0, ``every``, 2 ``every``, ... of ``episodes``.

    Example:
        >>> _planned_names(3, 1, "mp4", 1, True)
        ['rl-video-episode-0.mp4', 'rl-video-episode-1.mp4', 'rl-video-episode-2.mp4']
        >>> _planned_names(1, 1, "gif", 2, True, "run")
        ['run-env-0-episode-0.gif', 'run-env-1-episode-0.gif']
    """
    env_indexes = range(num_envs) if num_envs > 1 and per_env else [None]
    suffix = VIDEO_FORMATS[check_format(video_format)].suffix
    return [
        clip_stem(name_prefix, "episode", i, env_index=k) + suffix
        for k in env_indexes for i in range(0, episodes, every)
    ]  # fmt: skip


def _now() -> datetime:
    """The local time a run folder is named after (a function, for tests to fix it)."""
    return datetime.now()


def _run_folder(env_id: str, when: datetime) -> Path:
    """``runs/<env>-<YYYYmmdd>-<HHMMSS>``, with ``-2``, ``-3``, ... if a run took it already.

    The env id loses its ``module:`` part, and ``/`` (``ALE/Pong-v5``) becomes ``-``.
    """
    env = re.sub(r"[^A-Za-z0-9._-]+", "-", env_id.rpartition(":")[2]).strip("-.") or "env"
    base = Path("runs") / f"{env}-{when:%Y%m%d-%H%M%S}"
    folder, attempt = base, 1
    while folder.exists():
        attempt += 1
        folder = base.with_name(f"{base.name}-{attempt}")
    return folder


def _check_names_free(
    destination: Destination, names: set[str], planned: list[str], overwrite: bool | None
) -> bool | None:
    """Refuse (``--no-overwrite``) or say that ``--out`` holds this run's names; the overwrite.

    Called before the env runs; returns the ``overwrite`` the wrappers get. By default the
    videos are replaced, as the library does, said here once in the command's words; the
    wrappers then replace them without saying it again.
    """
    taken = [name for name in planned if name in names]
    if not taken:
        return overwrite
    shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
    them = "it" if len(taken) == 1 else "them"
    if overwrite is False:
        raise VideoExistsError(
            f"{destination.location} already holds {shown}, which this run would write, and "
            f"--no-overwrite keeps {them}: drop --no-overwrite to replace {them}, or choose "
            "another --out",
            path=destination.location,
            argument="overwrite",
            value=False,
        )
    if overwrite is None:
        logger.warning(
            "%s already holds %s, which this run will replace (with %s sidecars and tracks) as "
            "its videos are final. Pass --no-overwrite to keep %s, or choose another --out "
            "(without --out each run gets a fresh folder)",
            destination.location, shown, "its" if len(taken) == 1 else "their", them,
        )  # fmt: skip
    return True


def _why_no_videos(keep: _Keep, ended: list[VideoMetadata]) -> str:
    """Why a run kept no video, in the options' terms."""
    if not ended:
        return "no episode was recorded: the schedule (--every) picked none of them"
    if keep.rule == "failures":
        return (
            f"0 videos kept: --keep-if failures keeps episodes that terminated, and none of the "
            f"{len(ended)} recorded did (they were truncated, e.g. by the time limit)"
        )
    return f"0 videos kept of the {len(ended)} recorded (each was empty or cut short)"


def _counter(run: EpisodeStats, bar: Progress) -> Callable[[Episode], None]:
    """What each finished episode does: it is counted, and the bar names the next."""

    def ended(episode: Episode) -> None:
        run.add(episode.env, episode.episode_return, episode.steps)
        bar.episodes(run.done)

    return ended


def _record_single(settings: RecordSettings, target: _Target) -> EpisodeStats:
    """Record one env; episode i resets with seed ``--seed`` + i."""
    gym = gymnasium()
    from rlvideo.wrappers.gymnasium import RecordVideo

    env_id = settings.env_id
    env = make_env(
        gym, env_id, lambda: gym.make(env_id, render_mode="rgb_array", **target.env_kwargs),
        target.fix,
    )  # fmt: skip
    try:
        if target.agent is not None:  # before the wrapper makes --out: a mismatch writes nothing
            target.agent.bind(env)
        env = RecordVideo(env, target.out, **target.options)
        env.action_space.seed(settings.seed)
    except BaseException:
        env.close()
        raise
    run, bar = EpisodeStats(1, settings.episodes), Progress(settings.episodes)
    with env, closing(bar):  # an error or Ctrl-C out of the loop: the video cut is incomplete
        run_episodes(
            env, target.agent, settings.episodes, seed=settings.seed, on_step=bar.steps,
            on_episode_end=_counter(run, bar),
        )  # fmt: skip
    return run


def _record_vector(settings: RecordSettings, target: _Target) -> EpisodeStats:
    """Record a vector env of ``--num-envs`` sub-envs, reset with seed ``--seed``."""
    gym = gymnasium()
    from rlvideo.wrappers.vector import RecordVideo

    env_id, num_envs, episodes = settings.env_id, settings.num_envs, settings.episodes

    def factory() -> Any:
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync", render_mode="rgb_array",
            **target.env_kwargs,
        )  # fmt: skip

    user_keep = target.options["keep_if"]

    def keep_if(meta: Any) -> bool:  # an episode past the count was cut short by the stop
        return meta.episode < episodes and (user_keep is None or user_keep(meta))

    raw = make_env(gym, env_id, factory, target.fix)
    try:
        if target.agent is not None:
            target.agent.bind(raw, vector=True)
        options = {**target.options, "keep_if": keep_if}
        envs = RecordVideo(raw, target.out, per_env=settings.per_env, **options)
        envs.action_space.seed(settings.seed)
    except BaseException:
        raw.close()
        raise
    run, bar = EpisodeStats(num_envs, episodes), Progress(episodes * num_envs)
    with envs, closing(bar):  # an error or Ctrl-C out of the loop: the videos cut are incomplete
        run_vector_episodes(
            envs, target.agent, episodes, seed=settings.seed, on_step=bar.steps,
            on_episode_end=_counter(run, bar),
        )  # fmt: skip
    return run


def _keep_best(
    saved: list[tuple[Any, VideoMetadata]], destination: Destination, count: int = 1
) -> list[tuple[Any, VideoMetadata]]:
    """Keep the ``count`` videos with the highest returns; delete the others, sidecars and tracks.

    Ties go to the earlier episode, then to the lower sub-env.
    """
    ranked = sorted(
        range(len(saved)),
        key=lambda i: (
            -saved[i][1].episode_return,
            saved[i][1].episode,
            saved[i][1].env_index or 0,
        ),
    )
    best = set(ranked[:count])
    kept = []
    for i, (where, meta) in enumerate(saved):
        if i in best:
            kept.append((where, meta))
        else:
            name = video_name(where)
            destination.remove(name)
            destination.remove(sidecar_path(name).name)
            destination.remove(track_path(name).name)  # the per-frame data
            destination.remove(Path(name).stem + REPLAY_SUFFIX)  # --replay: rendered no more
    return kept
