"""``replay_options={"workers": "ray"}``: the renderer's jobs run as Ray tasks.

:class:`RayRenderPool` stands where a :class:`~rlvideo.wrappers._renderer.RenderPool` stands
under a ``replay=True`` wrapper: the same jobs (write a replay file, render it, probe the env)
and the same results, but each job is a Ray task, so the renders spread over every CPU of a
Ray cluster instead of the training machine's. A task runs the same code as a renderer process
(:func:`~rlvideo.wrappers._renderer.run_job`), writing files where live recording puts them:
on a cluster of several machines the video folder must be a file system every node shares (a
URL folder stages its files on this machine: its tasks must run here). Ray is started
(``ray.init()``: the cluster that ``RAY_ADDRESS`` names, else a local one) when it is not
running, and left running at ``close()``: another wrapper, or the script, may be using it (Ray
stops with the process).

Each task asks Ray for one CPU: where every CPU is reserved (RLlib's runners and learner can
take them all) the renders wait for one, and ``close()`` with them. Ray's workers run at Ray's
priority: ``replay_options["nice"]`` does not apply to them.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any

from rlvideo._core.optional import import_optional
from rlvideo.recording._transport import LOOK_EVERY
from rlvideo.wrappers._renderer import RenderResult, lost_job, run_job

__all__ = ["RayRenderPool"]


class RayRenderPool:
    """Renderer jobs as Ray tasks (one task a job, one CPU each), with ``RenderPool``'s API."""

    def __init__(self) -> None:
        self._ray = import_optional("ray", "ray", feature='replay_options={"workers": "ray"}')
        if not self._ray.is_initialized():
            self._ray.init()
        self._task = self._ray.remote(num_cpus=1)(run_job)
        self._next_id = 0
        self._running: dict[Any, tuple[int, dict[str, Any]]] = {}  # task ref -> (id, job)
        self._results: deque[tuple[int, RenderResult]] = deque()
        self._next_look = 0.0

    def due(self) -> bool:
        """Whether :meth:`results` would ask Ray now (else it returns nothing)."""
        return bool(self._results) or time.monotonic() >= self._next_look

    @property
    def pending(self) -> int:
        """Jobs sent and not yet answered."""
        return len(self._running)

    @property
    def idle(self) -> bool:
        """Whether no task is running."""
        return not self._running

    def submit(self, job: dict[str, Any]) -> int:
        """Start ``job`` as a Ray task; its id."""
        job_id = self._next_id
        self._next_id += 1
        try:
            ref = self._task.remote({**job, "id": job_id})
        except Exception as exc:  # Ray is gone: the job is lost, the replay file kept
            self._results.append((job_id, lost_job(job, f"Ray took no task ({exc!r})")))
            return job_id
        self._running[ref] = (job_id, job)
        return job_id

    def submit_batch(self, jobs: list[dict[str, Any]]) -> list[int]:
        """Start each of ``jobs`` as a Ray task; their ids."""
        return [self.submit(job) for job in jobs]

    def wait_any(self) -> None:
        """Wait until a task finished (takes nothing: a Ctrl-C while it waits loses nothing)."""
        if self._running:
            with contextlib.suppress(Exception):  # Ray gone: results() says so
                self._ray.wait(list(self._running), num_returns=1, timeout=None)

    def results(self, *, wait: bool = False, now: bool = False) -> list[tuple[int, RenderResult]]:
        """The results that came (``wait``: all of the jobs sent), as ``(job id, result)``.

        Without ``wait`` (or ``now``), Ray is asked at most every :data:`LOOK_EVERY` seconds.
        """
        if not (wait or now) and not self._results:
            clock = time.monotonic()
            if clock < self._next_look:
                return []
            self._next_look = clock + LOOK_EVERY
        if self._running:
            refs = list(self._running)
            try:
                ready, _ = self._ray.wait(
                    refs, num_returns=len(refs), timeout=None if wait else 0, fetch_local=True
                )
            except Exception as exc:  # Ray went away (shut down, its cluster lost)
                why = f"Ray is gone ({type(exc).__name__})"
                for job_id, job in self._running.values():
                    self._results.append((job_id, lost_job(job, why)))
                self._running.clear()
                ready = []
            for ref in ready:
                job_id, job = self._running.pop(ref)
                try:
                    _, result = self._ray.get(ref)
                except Exception as exc:  # the task failed or its worker died
                    result = lost_job(job, f"the Ray task failed ({type(exc).__name__})")
                self._results.append((job_id, result))
        done = list(self._results)
        self._results.clear()
        return done

    def flush(self) -> None:
        """Nothing to do: each task went to Ray as it was submitted."""

    def close(self, *, kill: bool = False) -> None:
        """Wait for the tasks (cancel them if ``kill``); Ray is left running."""
        with contextlib.suppress(Exception):  # Ray gone: nothing left to wait for
            if kill:
                for ref in self._running:
                    self._ray.cancel(ref, force=True)
            elif self._running:
                self._ray.wait(list(self._running), num_returns=len(self._running))
        self._running.clear()
