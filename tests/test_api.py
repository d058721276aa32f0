"""The public surface: exports, lazy loading, and what importing pulls in."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import rlvideo
from rlvideo import errors


def _public_names_of_package() -> set[str]:
    """What ``rlvideo/__init__.py`` really defines: its imports, its lazy names, its own defs.

    Read from the module itself, not from ``__all__`` or ``dir()`` (which returns ``__all__``),
    so a name added without exporting it, or exported without existing, fails the test.
    """
    tree = ast.parse(Path(rlvideo.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlvideo."):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.If):  # if TYPE_CHECKING: the lazy names, for type checkers
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in inner.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    names |= set(rlvideo._LAZY)
    return {name for name in names if not name.startswith("_")} | {"__version__"}


def test_exported_members_are_exactly_the_public_names():
    """Modelled on httpx's tests/test_exported_members.py."""
    assert set(rlvideo.__all__) == _public_names_of_package()
    assert len(rlvideo.__all__) == len(set(rlvideo.__all__)), "a name listed twice"


def test_every_exported_name_resolves_to_what_its_module_defines():
    for name in rlvideo.__all__:
        value = getattr(rlvideo, name)
        assert value is not None, name
        if name in rlvideo._LAZY:
            module = importlib.import_module(rlvideo._LAZY[name])
            assert getattr(module, name) is value, name


def _submodules() -> list[str]:
    """Every module and package under rlvideo, dotted (``io.writer``, ``wrappers``), but the
    layer packages that only hold a docstring (``_core``, ``io``, ``recording``)."""
    package = Path(rlvideo.__file__).parent
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
            if not parts or not ast.parse(path.read_text(encoding="utf-8")).body[1:]:
                continue
        if parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


@pytest.mark.parametrize("name", _submodules())
def test_each_module_exports_what_it_defines(name):
    """Every name in a module's __all__ exists; every public class or function it defines is
    in its __all__ (internal ones start with an underscore)."""
    if name.rpartition(".")[2] == "sb3":
        pytest.importorskip("stable_baselines3")
    if name.rpartition(".")[2] == "pettingzoo":
        pytest.importorskip("pettingzoo")
    if name == "rllib":  # checked in its own venv (tests/rllib), as RLlib pins its Gymnasium
        pytest.importorskip("tree", reason="RLlib is installed in .venv-rllib only")
    module = importlib.import_module(f"rlvideo.{name}")
    exported = set(getattr(module, "__all__", ()))
    assert exported, f"rlvideo.{name} has no __all__"
    missing = {n for n in exported if not hasattr(module, n)}
    assert not missing, f"rlvideo.{name}.__all__ names what it lacks: {missing}"
    defined = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    }
    assert defined <= exported, f"rlvideo.{name} defines but does not export {defined - exported}"


def test_the_0_2_import_paths_still_work():
    """Each module 0.2 had at the top level and that moved is kept as a path to its new home."""
    moved = {
        "schedules": "_core.schedules", "naming": "_core.naming", "frames": "_core.frames",
        "metadata": "_core.metadata", "options": "_core.options", "spec": "_core.spec",
        "encoder": "io.writer", "reader": "io.reader", "recovery": "io.recovery",
        "manifest": "io.manifest", "vector": "wrappers.vector", "sb3": "wrappers.sb3",
        "pettingzoo": "wrappers.pettingzoo", "demo": "cli.demo",
    }  # fmt: skip
    for old, new in moved.items():
        if (
            old in ("sb3", "pettingzoo")
            and importlib.util.find_spec("stable_baselines3" if old == "sb3" else "pettingzoo")
            is None
        ):
            continue
        shim = importlib.import_module(f"rlvideo.{old}")
        home = importlib.import_module(f"rlvideo.{new}")
        assert shim.__all__ == home.__all__, old
        assert all(getattr(shim, n) is getattr(home, n) for n in home.__all__), old


def test_the_exported_members_check_can_fail(monkeypatch):
    monkeypatch.setattr(rlvideo, "__all__", [*rlvideo.__all__, "not_there"])
    assert set(rlvideo.__all__) != _public_names_of_package()


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        rlvideo.nope  # noqa: B018


def test_error_tree():
    builtin = {
        "InvalidFrameError": ValueError,
        "InvalidArgumentError": ValueError,
        "RenderModeError": ValueError,
        "VideoExistsError": FileExistsError,
        "StorageError": OSError,
        "EncoderError": RuntimeError,
        "MissingDependencyError": ImportError,
        "WriterClosedError": ValueError,
    }
    assert set(errors.__all__) == {*builtin, "RLVideoError"}
    for name, base in builtin.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.RLVideoError)
        assert issubclass(cls, base)
        assert cls.__doc__


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_loads_no_optional_dependency():
    loaded = _modules_after("import rlvideo")
    for heavy in ("gymnasium", "tqdm", "fsspec", "ray", "jinja2", "moviepy", "PIL", "av"):
        assert heavy not in loaded, heavy


def test_pure_modules_stay_away_from_av():
    loaded = _modules_after(
        "import rlvideo._core.schedules, rlvideo._core.clips, rlvideo._core.naming, "
        "rlvideo._core.frames, rlvideo.errors, "
        "rlvideo._core.grid, rlvideo._core.metadata, rlvideo._core.rollout"
    )
    assert "av" not in loaded
    assert "rlvideo.io.writer" not in loaded


def test_io_loads_on_first_use():
    loaded = _modules_after("import rlvideo; rlvideo.VideoWriter")
    assert {"av", "rlvideo.io.writer"} <= loaded


def test_version():
    assert rlvideo.__version__.count(".") == 2
