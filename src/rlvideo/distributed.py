"""Record rollouts on Ray workers into one folder, with sidecars and one merged manifest.

:func:`render_replays` renders the replay files of ``replay=True`` on Ray tasks.

Needs Ray: ``pip install "rlvideo[ray]"`` (and ``rlvideo[gymnasium]`` for the envs).

:func:`record_rollouts` runs a Gymnasium env and a policy on ``num_workers`` Ray tasks. Each
records through :class:`rlvideo.RecordVideo` (``metadata=True``) into the same
``video_folder``, under the name prefix ``{name_prefix}-w{worker_index}``; when all are done,
the driver merges every video's metadata into ``video_folder/manifest.json`` (the format
``rlvideo record`` writes), so ``rlvideo gallery video_folder`` shows them together.

``video_folder`` may also be an fsspec URL (``s3://bucket/videos`` with ``storage_options``):
each worker uploads its videos and sidecars there, and the manifest is written beside them.

**Naming.** Worker ``k`` writes ``{name_prefix}-w{k}-episode-{i}.mp4`` (and ``.json``): the
worker goes into the prefix, not into a sub-folder, because the gallery and the manifest look at
one flat folder (the manifest keys its entries by file name) and because Gymnasium's
``-episode-{i}`` ending stays intact for tools that parse it. Prefixes of different workers
differ, so no two workers can pick the same name; a file left by an earlier run with the same
prefix is replaced (said once per folder), as a re-run expects; ``overwrite=False`` makes it an
error (:class:`~rlvideo.errors.VideoExistsError`).

**RLlib.** :func:`rlvideo.rllib.video_callbacks` records RLlib's env runners and brings each
video's URL and metadata back in the iteration's results; use it with RLlib's new API stack.
The older way, kept for env creators: RLlib builds envs inside its env runners from an env
creator that receives an ``EnvContext`` (``worker_index``: 0 for the local runner, 1.. for
remote ones; ``vector_index``). Wrap the env there and name it with :func:`env_runner_prefix`::

    import gymnasium as gym
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env
    from rlvideo import RecordVideo
    from rlvideo.distributed import env_runner_prefix, merge_manifest

    def make_env(ctx):  # ctx: ray.rllib.env.EnvContext
        env = gym.make("CartPole-v1", render_mode="rgb_array")
        return RecordVideo(env, "/shared/videos", name_prefix=env_runner_prefix(ctx, "ppo"),
                           episode_trigger=lambda e: e % 100 == 0, metadata=True)

    register_env("recorded-cartpole", make_env)
    algo = PPOConfig().environment("recorded-cartpole").build_algo()
    for _ in range(100):
        algo.train()
    algo.stop()                       # closes the env runners: their last videos are finished
    merge_manifest("/shared/videos")  # then: rlvideo gallery /shared/videos

:func:`env_runner_prefix` gives ``ppo-w{worker_index}-v{n}``, where ``n`` is the
``vector_index`` unless this process already named an env that way, then the next free number:
RLlib's new API stack passes ``vector_index=0`` to every sub-env of a runner, so the index alone
would collide. The folder must be shared by every node (on one machine any folder is), or be an
fsspec URL. A runner that RLlib restarts after a failure is a new process with the same
``worker_index``: its first video's name is taken, and the earlier runner's video is replaced
(an error with ``overwrite=False``); with restarts enabled, give each runner's process its own
prefix (e.g. with its process id or a time stamp) to keep both.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.naming import check_format, check_name_prefix
from rlvideo._core.optional import import_optional
from rlvideo._core.rollout import Policy, run_episodes
from rlvideo.errors import InvalidArgumentError
from rlvideo.io.manifest import MANIFEST, merge_manifest
from rlvideo.storage import check_storage_options, open_destination, resolve_location

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from rlvideo.wrappers._renderer import RenderResult

__all__ = [
    "MANIFEST",
    "RolloutOptions",
    "env_runner_prefix",
    "merge_manifest",
    "record_rollouts",
    "render_replays",
    "worker_prefix",
]

logger = logging.getLogger(__name__)


EnvFactory = Callable[[], Any]


# -- naming -------------------------------------------------------------------------------------
def worker_prefix(name_prefix: str, worker_index: int, vector_index: int | None = None) -> str:
    """The name prefix of one worker's videos: ``{name_prefix}-w{worker_index}[-v{vector_index}]``.

    Args:
        name_prefix: The run's prefix (a plain name, no path separator).
        worker_index: The worker's index, >= 0.
        vector_index: The env's index within the worker, >= 0, when a worker runs several.

    Returns:
        The prefix to give :class:`rlvideo.RecordVideo`.

    Raises:
        InvalidArgumentError: For a prefix with a path separator or a negative index.

    Example:
        >>> worker_prefix("rl-video", 3)
        'rl-video-w3'
        >>> worker_prefix("ppo", 2, 1) + "-episode-0.mp4"
        'ppo-w2-v1-episode-0.mp4'
    """
    check_name_prefix(name_prefix)
    for name, value in (("worker_index", worker_index), ("vector_index", vector_index)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidArgumentError(f"{name} must be an integer >= 0, got {value!r}")
    prefix = f"{name_prefix}-w{worker_index}"
    return prefix if vector_index is None else f"{prefix}-v{vector_index}"


_taken: set[tuple[str, int, int]] = set()
_taken_lock = threading.Lock()


def env_runner_prefix(env_context: Any, name_prefix: str = "rl-video") -> str:
    """A name prefix for an env built in an RLlib env runner, unique within the process.

    Reads ``worker_index`` and ``vector_index`` from ``env_context`` (RLlib's ``EnvContext``;
    any object with those attributes, missing ones count as 0) and returns
    ``{name_prefix}-w{worker_index}-v{n}``, where ``n`` is the lowest number >= ``vector_index``
    that this process has not handed out for that worker yet. So sub-envs that RLlib gives the
    same ``vector_index`` (its new API stack gives 0 to all) and envs re-created in the same
    runner get distinct names.

    Args:
        env_context: The env creator's argument.
        name_prefix: The run's prefix.

    Returns:
        The prefix to give :class:`rlvideo.RecordVideo`.

    Example:
        >>> from types import SimpleNamespace
        >>> ctx = SimpleNamespace(worker_index=2, vector_index=0)
        >>> env_runner_prefix(ctx, "doc"), env_runner_prefix(ctx, "doc")
        ('doc-w2-v0', 'doc-w2-v1')
    """
    worker_index = int(getattr(env_context, "worker_index", 0) or 0)
    vector_index = int(getattr(env_context, "vector_index", 0) or 0)
    worker_prefix(name_prefix, worker_index, vector_index)  # checks the arguments
    with _taken_lock:
        while (name_prefix, worker_index, vector_index) in _taken:
            vector_index += 1
        _taken.add((name_prefix, worker_index, vector_index))
    return worker_prefix(name_prefix, worker_index, vector_index)


# -- rollouts -----------------------------------------------------------------------------------
class RolloutOptions(TypedDict, total=False):
    """:func:`record_rollouts`' keyword options after the run's shape: the recording, and Ray.

    Attributes:
        env_kwargs: Extra arguments for ``gymnasium.make``, e.g. ``{"max_episode_steps": 200}``.
        episode_trigger: ``episode -> bool`` on each worker's own episode count (picklable);
            None: RecordVideo's default, Gymnasium's capped cubic schedule.
        name_prefix: Start of every file name (default ``"rl-video"``); the worker index is
            added after it.
        format: ``"mp4"`` (default), ``"webm"`` or ``"gif"``.
        overwrite: A video whose name is taken: None (default) replaces it, said once per
            folder; True replaces it quietly; False makes it an error.
        storage_options: Passed to :class:`rlvideo.RecordVideo` with a URL ``video_folder``,
            and used to write the manifest there.
        record_kwargs: More keyword arguments for :class:`rlvideo.RecordVideo`, e.g.
            ``{"video_length": 100, "encoder": "thread", "keep_if": ...}``; they run on the
            workers, so callables must be picklable.
        ray_address: The cluster to connect to when Ray is not running yet (None: Ray's
            default: ``RAY_ADDRESS``, else a new local cluster).
        ray_remote_options: Options for each task, e.g. ``{"num_cpus": 0.5}`` or
            ``{"resources": {...}}`` (Ray's default: one CPU per task).
    """

    env_kwargs: Mapping[str, Any] | None
    episode_trigger: Callable[[int], bool] | None
    name_prefix: str
    format: str
    overwrite: bool | None
    storage_options: Mapping[str, Any] | None
    record_kwargs: Mapping[str, Any] | None
    ray_address: str | None
    ray_remote_options: Mapping[str, Any] | None


_DEFAULTS: RolloutOptions = {
    "env_kwargs": None, "episode_trigger": None, "name_prefix": "rl-video", "format": "mp4",
    "overwrite": None, "storage_options": None, "record_kwargs": None, "ray_address": None,
    "ray_remote_options": None,
}  # fmt: skip

# RecordVideo's arguments that record_rollouts sets itself
_SET_BY_US = frozenset({"env", "video_folder", "name_prefix", "metadata", "episode_trigger",
                        "format", "overwrite", "storage_options"})  # fmt: skip


@dataclass(frozen=True)
class _Run:
    """A checked run: what each worker gets, and where the manifest goes."""

    env_id: str | EnvFactory
    policy: Policy | None  # None: the action space's samples
    folder: str  # absolute, or a URL: the workers run in other directories
    num_workers: int
    episodes_per_worker: int
    seed: int
    name_prefix: str
    env_kwargs: dict[str, Any]
    record_kwargs: dict[str, Any]
    storage_options: dict[str, Any] | None

    def submit(self, task: Any, worker_index: int) -> Any:
        """Start worker ``worker_index`` as the Ray ``task``; return its object ref."""
        first_seed = self.seed + worker_index * self.episodes_per_worker
        return task.remote(
            self.env_id, self.policy, worker_index, video_folder=self.folder,
            env_kwargs=self.env_kwargs, episodes=self.episodes_per_worker,
            first_seed=first_seed, name_prefix=worker_prefix(self.name_prefix, worker_index),
            record_kwargs=self.record_kwargs,
        )  # fmt: skip


def record_rollouts(
    env_id: str | EnvFactory,
    policy: Policy | str = "random",
    *,
    video_folder: str | os.PathLike[str],
    num_workers: int = 4,
    episodes_per_worker: int = 3,
    seed: int = 0,
    **options: Unpack[RolloutOptions],
) -> list[VideoMetadata]:
    """Run episodes on Ray workers, each recording into ``video_folder``; merge a manifest.

    Worker ``k`` (0 <= k < ``num_workers``) makes its own env, runs ``episodes_per_worker``
    episodes, resetting episode ``i`` with seed ``seed + k * episodes_per_worker + i`` (so all
    episodes differ, and one process running the same seeds in order gets the same episodes),
    and records through :class:`rlvideo.RecordVideo` with ``metadata=True`` under the prefix
    :func:`worker_prefix(name_prefix, k) <worker_prefix>`. Then the driver writes
    ``video_folder/manifest.json``, merging the new videos into the entries already there.

    If Ray is not running, it is started (``ray.init(address=ray_address)``) and shut down at
    the end; a running Ray (``ray.init(...)`` called before) is used as it is.

    Args:
        env_id: A Gymnasium env id, made on each worker with
            ``gymnasium.make(env_id, render_mode="rgb_array", **env_kwargs)``; or a picklable
            function with no arguments returning an env with an image render mode.
        policy: ``"random"`` (the action space's samples, seeded) or a picklable callable
            ``observation -> action``, shipped to every worker.
        video_folder: The one destination of every worker: a folder every worker can write
            (on several machines, a shared file system), or an fsspec URL such as
            ``s3://bucket/videos`` (``rlvideo[cloud]``; not ``memory://``, which lives in one
            process).
        num_workers: Ray tasks to run, >= 1.
        episodes_per_worker: Episodes each worker runs, >= 1.
        seed: The seed of worker 0's first episode.
        **options: The recording and Ray options (env_kwargs, episode_trigger, name_prefix,
            format, overwrite, storage_options, record_kwargs, ray_address,
            ray_remote_options): see :class:`RolloutOptions`.

    Returns:
        The metadata of every saved video, worker by worker, each in the order it was saved.

    Raises:
        InvalidArgumentError: For a bad count, seed, prefix, format, policy or option (before
            Ray starts).
        MissingDependencyError: Without Ray (or fsspec, for a URL).
        Exception: The first error a worker raised (Ray re-raises it as a subclass of its
            type, e.g. :class:`~rlvideo.errors.VideoExistsError`); the manifest is still
            written, from the sidecars in the folder.
    """
    settings = _with_defaults(options)
    run = _plan(
        env_id, policy, video_folder, settings, num_workers=num_workers,
        episodes_per_worker=episodes_per_worker, seed=seed,
    )  # fmt: skip
    ray = import_optional("ray", "ray", feature="rlvideo.distributed")
    started = not ray.is_initialized()
    if started:
        ray.init(address=settings["ray_address"])
    try:
        began = time.perf_counter()
        task = ray.remote(_run_worker).options(**dict(settings["ray_remote_options"] or {}))
        results, errors = _gather(ray, [run.submit(task, k) for k in range(num_workers)])
    finally:
        if started:
            ray.shutdown()
    if errors:  # videos saved before the failure have sidecars: pick them up from the folder
        merge_manifest(run.folder, storage_options=run.storage_options)
        raise errors[0]
    manifest = merge_manifest(run.folder, results, storage_options=run.storage_options)
    logger.info(
        "recorded %d video(s) on %d worker(s) in %.1f s; manifest: %s",
        len(results), num_workers, time.perf_counter() - began, manifest,
    )  # fmt: skip
    return results


def render_replays(
    paths: list[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    video_folder: str | None = None,
    ray_address: str | None = None,
    ray_remote_options: Mapping[str, Any] | None = None,
    **render_options: Any,
) -> list[RenderResult]:
    """Render replay files (``replay=True``) on Ray tasks, one task per file; their results.

    The same as :func:`rlvideo.replay.render` (its keyword arguments: ``camera``, ``width``,
    ``height``, ``format``, ``overlay``, ``overwrite``), with the rendering spread over a Ray
    cluster: each task reads its replay file and writes its video where
    :func:`rlvideo.replay.render` would (beside the replay file, or in ``video_folder``), so the
    files must be on a file system every node shares. Ray is started and stopped as in
    :func:`record_rollouts` when it is not running.

    Returns:
        One :class:`~rlvideo.wrappers._renderer.RenderResult` per replay file, in order.
    """
    from rlvideo.replay import render, replay_files

    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = [str(path) for path in replay_files(given)]
    ray = import_optional("ray", "ray", feature="rlvideo.distributed")
    started = not ray.is_initialized()
    if started:
        ray.init(address=ray_address)
    try:
        task = ray.remote(render).options(**dict(ray_remote_options or {}))
        refs = [task.remote([path], video_folder=video_folder, **render_options) for path in files]
        return [result for ref in refs for result in ray.get(ref)]
    finally:
        if started:
            ray.shutdown()


def _with_defaults(options: RolloutOptions) -> RolloutOptions:
    """Every option, defaults filled in; another keyword is Python's own TypeError."""
    for key in options:
        if key not in _DEFAULTS:
            raise TypeError(f"record_rollouts() got an unexpected keyword argument {key!r}")
    return {**_DEFAULTS, **options}


def _plan(
    env_id: str | EnvFactory,
    policy: Policy | str,
    video_folder: str | os.PathLike[str],
    settings: RolloutOptions,
    *,
    num_workers: int,
    episodes_per_worker: int,
    seed: int,
) -> _Run:
    """Check every argument before Ray starts; return the run."""
    _check_count("num_workers", num_workers)
    _check_count("episodes_per_worker", episodes_per_worker)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgumentError(f"seed must be an integer, got {seed!r}")
    worker_prefix(settings["name_prefix"], num_workers - 1)  # checks the prefix
    check_format(settings["format"])
    act = _policy_function(policy)
    _check_env(env_id, settings["env_kwargs"])
    record_kwargs = _record_kwargs(settings)
    storage_options = check_storage_options(settings["storage_options"])
    if storage_options is not None:
        record_kwargs["storage_options"] = storage_options
    open_destination(video_folder, storage_options).close()  # checks the URL and the options
    return _Run(
        env_id, act, resolve_location(video_folder), num_workers, episodes_per_worker, seed,
        settings["name_prefix"], dict(settings["env_kwargs"] or {}), record_kwargs,
        storage_options,
    )  # fmt: skip


def _policy_function(policy: Policy | str) -> Policy | None:
    """The policy a worker runs: None for ``"random"`` (the action space's samples)."""
    if isinstance(policy, str) and policy == "random":
        return None
    if callable(policy):
        return policy
    raise InvalidArgumentError(
        f'policy must be "random" or a callable observation -> action, got {policy!r}'
    )


def _check_env(env_id: Any, env_kwargs: Mapping[str, Any] | None) -> None:
    if not (isinstance(env_id, str) and env_id) and not callable(env_id):
        raise InvalidArgumentError(
            f"env_id must be a Gymnasium env id or a function returning an env, got {env_id!r}"
        )
    if callable(env_id) and env_kwargs:
        raise InvalidArgumentError(
            "env_kwargs are for gymnasium.make with an env id; with an env factory, bind them "
            "in it (functools.partial(make, **kwargs))"
        )


def _record_kwargs(settings: RolloutOptions) -> dict[str, Any]:
    """The keyword arguments each worker's :class:`rlvideo.RecordVideo` gets (but its prefix)."""
    episode_trigger = settings["episode_trigger"]
    if episode_trigger is not None and not callable(episode_trigger):
        raise InvalidArgumentError(
            f"episode_trigger must be a callable or None, got {episode_trigger!r}"
        )
    kwargs = dict(settings["record_kwargs"] or {})
    clash = sorted(_SET_BY_US & kwargs.keys())
    if clash:
        raise InvalidArgumentError(
            f"record_kwargs must not set {', '.join(clash)}: they are record_rollouts' own "
            "arguments (or set by it)"
        )
    kwargs.update(
        episode_trigger=episode_trigger, format=settings["format"], overwrite=settings["overwrite"]
    )
    return kwargs


def _gather(ray: Any, refs: list[Any]) -> tuple[list[VideoMetadata], list[BaseException]]:
    """Wait for every worker, even after one failed: the videos saved, and the errors raised."""
    results: list[VideoMetadata] = []
    errors: list[BaseException] = []
    for k, ref in enumerate(refs):
        try:
            results += [VideoMetadata(**entry) for entry in ray.get(ref)]
        except Exception as exc:
            logger.error("worker %d failed: %s", k, exc)
            errors.append(exc)
    return results, errors


def _run_worker(
    env_id: str | EnvFactory,
    policy: Policy | None,
    worker_index: int,
    *,
    video_folder: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    first_seed: int,
    name_prefix: str,
    record_kwargs: dict[str, Any],
) -> list[dict[str, Any]]:
    """One Ray task: make the env, record ``episodes`` episodes, return the saved metadata."""
    gym = import_optional("gymnasium", "gymnasium", feature="rlvideo.distributed")
    from rlvideo.wrappers.gymnasium import RecordVideo

    saved: list[VideoMetadata] = []
    user_hook = record_kwargs.pop("on_video_saved", None)

    def on_video_saved(path: Any, meta: VideoMetadata) -> None:  # a Path, or a URL (str)
        saved.append(meta)
        if user_hook is not None:
            user_hook(path, meta)

    make = (
        env_id
        if callable(env_id)
        else lambda: gym.make(env_id, render_mode="rgb_array", **env_kwargs)
    )
    env = make()
    env = RecordVideo(
        env, video_folder, name_prefix=name_prefix, metadata=True,
        on_video_saved=on_video_saved, **record_kwargs,
    )  # fmt: skip
    env.action_space.seed(first_seed)
    with env:  # an error out of the run keeps the video it cut off as incomplete
        run_episodes(env, policy, episodes, seed=first_seed)
    logger.info("worker %d saved %d video(s)", worker_index, len(saved))
    return [meta.to_dict() for meta in saved]


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{name} must be an integer >= 1, got {value!r}")


# -- the manifest -------------------------------------------------------------------------------
