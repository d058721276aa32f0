"""``replay_options={"workers": "ray"}``'s pool on a stand-in for Ray: when it starts and stops
Ray, and what a job that no task finished gives back (the real Ray: tests/test_distributed.py)."""

from __future__ import annotations

from typing import Any

import pytest

from rlvideo._core.replay import check_replay_options
from rlvideo.errors import InvalidArgumentError
from rlvideo.wrappers import _ray_pool
from rlvideo.wrappers._renderer import RenderResult


class _Ref:
    def __init__(self, job: dict[str, Any], fail: bool) -> None:
        self.job, self.fail = job, fail


class _FakeRay:
    """Runs each task when its result is asked for; ``fail`` makes the next task raise."""

    def __init__(self, running: bool) -> None:
        self.running, self.calls, self.fail, self.broken = running, [], False, False

    def is_initialized(self) -> bool:
        return self.running

    def init(self) -> None:
        self.calls.append("init")
        self.running = True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.running = False

    def remote(self, **options: Any) -> Any:
        assert options == {"num_cpus": 1}
        ray = self

        class _Task:
            def __init__(self, function: Any) -> None:
                self.function = function

            def remote(self, job: dict[str, Any]) -> _Ref:
                if not ray.running:
                    raise RuntimeError("Ray is not running")
                return _Ref(job, ray.fail)

        return _Task

    def wait(self, refs: list[_Ref], **options: Any) -> tuple[list[_Ref], list[_Ref]]:
        if self.broken:
            raise RuntimeError("the Ray session ended")
        return refs, []

    def get(self, ref: _Ref) -> tuple[int, RenderResult]:
        if ref.fail:
            raise RuntimeError("the worker died")
        return ref.job["id"], RenderResult(ref.job["replay"], "stem")

    def cancel(self, ref: _Ref, force: bool) -> None:
        self.calls.append("cancel")


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(running: bool) -> _FakeRay:
        ray = _FakeRay(running)
        monkeypatch.setattr(_ray_pool, "import_optional", lambda *args, **kwargs: ray)
        return ray

    return use


def test_ray_is_started_if_need_be_and_left_running(fake_ray: Any) -> None:
    """Another wrapper, or the script, may be using the Ray this pool started."""
    ray = fake_ray(running=False)
    pool = _ray_pool.RayRenderPool()
    assert ray.calls == ["init"]
    first = pool.submit({"replay": "a.replay.npz"})
    second = pool.submit({"replay": "b.replay.npz"})
    assert pool.pending == 2
    assert sorted(pool.results(wait=True), key=lambda r: r[0]) == [
        (first, RenderResult("a.replay.npz", "stem")),
        (second, RenderResult("b.replay.npz", "stem")),
    ]
    assert pool.pending == 0
    pool.close()
    assert ray.calls == ["init"]
    assert ray.running

    ray = fake_ray(running=True)
    pool = _ray_pool.RayRenderPool()
    pool.submit({"replay": "c.replay.npz"})
    pool.close(kill=True)
    assert ray.calls == ["cancel"]
    assert ray.running


def test_a_job_no_task_finished_keeps_its_replay_file_and_names_the_fix(fake_ray: Any) -> None:
    ray = fake_ray(running=True)
    pool = _ray_pool.RayRenderPool()
    ray.fail = True
    failed = pool.submit({"write": ("v.replay.npz", {}, {}), "replay": "v.replay.npz"})
    [(job_id, result)] = pool.results(wait=True)
    assert job_id == failed
    assert not result.verified
    assert result.error == (
        "the Ray task failed (RuntimeError); render v.replay.npz again with rlvideo render"
    )
    ray.broken = True  # Ray went away under a task: every job sent is lost
    pending = pool.submit({"replay": "x.replay.npz"})
    [(job_id, result)] = pool.results(wait=True)
    assert job_id == pending
    assert result.error == (
        "Ray is gone (RuntimeError); render x.replay.npz again with rlvideo render"
    )
    ray.running = False  # and the next job is answered at once, lost
    lost = pool.submit({"replay": "w.replay.npz"})
    [(job_id, result)] = pool.results()
    assert job_id == lost
    assert result.error is not None
    assert result.error.startswith("Ray took no task (RuntimeError('Ray is not running'))")


def test_workers_takes_ray_or_a_count() -> None:
    assert check_replay_options({"workers": "ray"})["workers"] == "ray"
    with pytest.raises(InvalidArgumentError, match=r"an integer >= 1 or \"ray\", got 'dask'"):
        check_replay_options({"workers": "dask"})
