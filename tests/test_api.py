"""The public surface: exports, lazy loading, and what importing pulls in."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rlvideo
from rlvideo import errors


def test_every_public_name_is_exported_and_resolves():
    for name in rlvideo.__all__:
        assert getattr(rlvideo, name) is not None, name
    assert sorted(dir(rlvideo)) == sorted(rlvideo.__all__)


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
        "import rlvideo.schedules, rlvideo.clips, rlvideo.naming, rlvideo.frames, rlvideo.errors, "
        "rlvideo.grid, rlvideo.metadata, rlvideo.rollout"
    )
    assert "av" not in loaded
    assert "rlvideo.encoder" not in loaded


def test_io_loads_on_first_use():
    loaded = _modules_after("import rlvideo; rlvideo.VideoWriter")
    assert {"av", "rlvideo.encoder"} <= loaded


def test_version():
    assert rlvideo.__version__.count(".") == 2
