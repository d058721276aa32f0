"""The layer rule: each module imports only from its own layer or the ones below it.

pure (no PyAV, no files, no env) < io (encode, read, store files) < recording (the background
encoder and the recorder under the wrappers) < integration (wrappers, CLI, gallery, notebook,
Ray). The folders are the layers: ``_core`` (pure), ``io`` and ``storage`` (io), ``recording``,
and ``wrappers``, ``loggers``, ``gallery``, ``cli`` (integration), as the docs' architecture page
draws them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rlvideo

PACKAGE = Path(rlvideo.__file__).parent
LAYERS = ("pure", "io", "recording", "integration")
# The rule is the folders': a module's layer is its folder's.
LAYER_OF_FOLDER = {
    "_core": "pure",  # checks, plans, names, formats: NumPy and the standard library only
    "io": "io", "storage": "io",  # files and PyAV
    "recording": "recording",  # videos encoded off the env's thread
    "wrappers": "integration", "loggers": "integration", "gallery": "integration",
    "cli": "integration",  # what users hold
}  # fmt: skip
# The modules at the top: the public surface, and 0.2's import paths (in their targets' layers)
LAYER_OF_TOP = {
    "errors": "pure", "overlay": "pure", "schedules": "pure", "naming": "pure", "frames": "pure",
    "metadata": "pure", "options": "pure", "spec": "pure",
    "dropin": "io", "encoder": "io", "reader": "io", "recovery": "io", "manifest": "io",
    "vector": "integration", "sb3": "integration", "pettingzoo": "integration",
    "demo": "integration", "notebook": "integration", "distributed": "integration",
    "replay": "integration", "rllib": "integration",
    "__init__": "integration", "__main__": "integration",
}  # fmt: skip
# Imports that pure modules may not make at import time (they may inside a function that
# needs them: _core.codecs checks an unknown encoder's name with PyAV, only when one is asked for).
IO_PACKAGES = {
    "av", "gymnasium", "fsspec", "ray", "jinja2", "tqdm", "stable_baselines3", "pettingzoo",
    "torch", "jax", "wandb", "tensorboard", "tensorboardX", "mlflow",
}  # fmt: skip


def _modules() -> dict[str, Path]:
    """Every module, dotted from the package (``io.writer``; a package is its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if len(parts) > 1 and parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> str:
    folder, dot, _ = module.partition(".")
    if dot or folder in LAYER_OF_FOLDER:
        return LAYER_OF_FOLDER[folder]
    return LAYER_OF_TOP[folder]


def _owning_module(dotted: str) -> str:
    """``rlvideo.io.writer.VideoWriter`` -> ``io.writer``: the longest prefix that is a module."""
    modules = _modules()
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    raise AssertionError(f"rlvideo.{dotted} is not a module of the package")


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: not inside functions or TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return names


def test_every_module_has_a_layer():
    unplaced = [name for name in _modules() if "." not in name and name not in LAYER_OF_FOLDER
                and name not in LAYER_OF_TOP]  # fmt: skip
    assert not unplaced, "put new modules in a layer's folder (or classify them in LAYER_OF_TOP)"
    assert set(LAYER_OF_FOLDER) <= set(_modules()), "a layer folder in LAYER_OF_FOLDER is gone"


def test_the_file_list_says_what_is_internal():
    """A module whose names the package does not document for users starts with ``_`` (or
    lives in a folder that does: everything in ``_core`` is internal)."""
    internal = {name for name in _modules() if any(part.startswith("_") and part not in
                ("__init__", "__main__") for part in name.split("."))}  # fmt: skip
    assert internal == {
        "_core", "_core.clips", "_core.codecs", "_core.frames", "_core.grid", "_core.interop",
        "_core.metadata", "_core.naming", "_core.optional", "_core.options", "_core.rollout",
        "_core.schedules", "_core.spec", "_core.track", "io._cutting", "io._files",
        "io._preview", "recording._recorder", "recording._worker", "cli._policies",
        "recording._encoder", "recording._interrupts", "recording._messages",
        "recording._pool", "recording._transport", "recording._pacing",
        "_core.formats",
        "_core.units", "io._gif", "io._scale", "_core.replay", "wrappers._replay_state",
        "wrappers._renderer", "wrappers._replaying", "wrappers._rllib", "wrappers._ray_pool",
        "wrappers._machine",
        "cli._errors",
        "cli._envs", "cli._options", "cli._progress", "cli._summary",
    }  # fmt: skip


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_go_down_the_layers(module):
    rank = LAYERS.index(layer_of(module))
    for imported in _top_level_imports(_modules()[module]):
        root, _, rest = imported.partition(".")
        if root == "rlvideo" and rest:
            target = _owning_module(rest)
            assert LAYERS.index(layer_of(target)) <= rank, (
                f"rlvideo.{module} ({layer_of(module)}) imports rlvideo.{target} "
                f"({layer_of(target)}), a higher layer"
            )
        elif layer_of(module) == "pure":
            assert root not in IO_PACKAGES, f"pure rlvideo.{module} imports {imported}"


def test_the_layer_check_can_fail():
    """A pure module importing the writer breaks the rule (the check is not vacuous)."""
    assert LAYERS.index(layer_of(_owning_module("io.writer.VideoWriter"))) > LAYERS.index(
        layer_of("_core.naming")
    )


def test_pure_modules_load_no_io_in_a_fresh_interpreter():
    pure = sorted(name for name in _modules() if layer_of(name) == "pure")
    code = (
        "import sys; "
        + "; ".join(f"import rlvideo.{name}" for name in pure)
        + "; print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & IO_PACKAGES
    assert not {f"rlvideo.{name}" for name in _modules() if layer_of(name) != "pure"} & loaded


def test_a_recorder_checks_its_settings_without_pyav():
    """The env's process builds the WriterSpec for the default encoders without loading PyAV."""
    code = (
        "import sys; from rlvideo._core.spec import WriterSpec; "
        "[WriterSpec.build(format=f) for f in ('mp4', 'webm', 'gif')]; "
        "print('av' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
