"""The layer rule: each module imports only from its own layer or the ones below it.

pure (no PyAV, no files, no env) < io (encode, read, store files) < recording (the background
encoder and the recorder under the wrappers) < integration (wrappers, CLI, gallery, notebook,
Ray). The README's Architecture section draws the same table.
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
LAYER_OF = {
    # pure: checks, plans and names; NumPy and the standard library only
    "errors": "pure", "_optional": "pure", "schedules": "pure", "_clips": "pure",
    "naming": "pure", "frames": "pure", "metadata": "pure", "_grid": "pure", "_codecs": "pure",
    "spec": "pure", "_rollout": "pure", "options": "pure", "_interop": "pure",
    # io: files and PyAV
    "_files": "io", "encoder": "io", "reader": "io", "recovery": "io", "_cutting": "io",
    "storage": "io", "manifest": "io", "dropin": "io", "_preview": "io",
    # recording: videos encoded off the env's thread
    "_background": "recording", "_recorder": "recording",
    # integration: what users hold
    "wrappers": "integration", "vector": "integration", "sb3": "integration",
    "notebook": "integration", "gallery": "integration", "distributed": "integration",
    "demo": "integration", "cli": "integration", "__main__": "integration",
    "__init__": "integration", "pettingzoo": "integration", "loggers": "integration",
    "_policies": "integration", "_track": "pure", "overlay": "pure",
}  # fmt: skip
# Imports that pure modules may not make at import time (they may inside a function that
# needs them: _codecs checks an unknown encoder's name with PyAV, only when one is asked for).
IO_PACKAGES = {
    "av", "gymnasium", "fsspec", "ray", "jinja2", "tqdm", "stable_baselines3", "pettingzoo",
    "torch", "jax", "wandb", "tensorboard", "tensorboardX", "mlflow",
}  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {path.stem: path for path in PACKAGE.glob("*.py")}
    found.update({path.parent.name: path for path in PACKAGE.glob("*/__init__.py")})
    return found


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
    assert set(_modules()) == set(LAYER_OF), "classify new modules in LAYER_OF and the README"


def test_the_file_list_says_what_is_internal():
    """A module whose names the package does not document for users starts with ``_``."""
    internal = {"_optional", "_background", "_recorder", "_clips", "_grid", "_codecs",
                "_cutting", "_rollout", "_files", "_interop", "_preview", "_policies",
                "_track"}  # fmt: skip
    assert {name for name in _modules() if name.startswith("_") and name not in
            ("__init__", "__main__")} == internal  # fmt: skip


@pytest.mark.parametrize("module", sorted(LAYER_OF))
def test_imports_go_down_the_layers(module):
    path = _modules().get(module)
    if path is None:
        pytest.fail(f"rlvideo.{module} is in LAYER_OF but not in the package")
    rank = LAYERS.index(LAYER_OF[module])
    for imported in _top_level_imports(path):
        root, _, rest = imported.partition(".")
        if root == "rlvideo" and rest:
            target = rest.split(".")[0]
            assert LAYERS.index(LAYER_OF[target]) <= rank, (
                f"rlvideo.{module} ({LAYER_OF[module]}) imports rlvideo.{target} "
                f"({LAYER_OF[target]}), a higher layer"
            )
        elif LAYER_OF[module] == "pure":
            assert root not in IO_PACKAGES, f"pure rlvideo.{module} imports {imported}"


def test_pure_modules_load_no_io_in_a_fresh_interpreter():
    pure = sorted(name for name, layer in LAYER_OF.items() if layer == "pure")
    code = (
        "import sys; "
        + "; ".join(f"import rlvideo.{name}" for name in pure)
        + "; print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & IO_PACKAGES
    assert not {f"rlvideo.{name}" for name, layer in LAYER_OF.items() if layer != "pure"} & loaded


def test_a_recorder_checks_its_settings_without_pyav():
    """The env's process builds the WriterSpec for the default encoders without loading PyAV."""
    code = (
        "import sys; from rlvideo.spec import WriterSpec; "
        "[WriterSpec.build(format=f) for f in ('mp4', 'webm', 'gif')]; "
        "print('av' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
