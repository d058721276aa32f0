"""The documentation site builds without a warning, and the README stays a front door.

``make docs`` builds the site (``mkdocs.yml``, ``docs/``) with ``--strict``: a broken link, a page
left out of the navigation or a docstring mkdocstrings cannot read fails it. This test builds it the
same way, so ``make test`` checks it; ``tests/test_readme.py`` runs the pages' examples.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_BYTES = 12 * 1024  # the README is a front door: the rest is in docs/
COMMANDS = ("record", "info", "gallery", "recover", "demo", "render")  # rlvideo's commands


def test_the_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in COMMANDS:  # mkdocs-click wrote every command's options
        assert f"rlvideo {command}" in cli, f"the command-line page lacks rlvideo {command}"
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("rlvideo.save_video", "rlvideo.RecordVideo", "rlvideo.loggers.WandbLogger"):
        assert f'id="{name}"' in api, f"the API page lacks {name}"
    assert "<blockquote>\n<blockquote>" not in api, "a doctest rendered as quotes, not code"


def test_the_readme_is_at_most_12_kib():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes, over {README_MAX_BYTES}: move the detail into a docs/ page"
    )


def test_the_readmes_links_reach_files():
    """Every relative link of the README names a file of the repository (docs/ pages, mostly)."""
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
    local = [link.split("#")[0] for link in links if "://" not in link]
    assert local
    missing = [link for link in local if not (ROOT / link).is_file()]
    assert not missing, f"README links to files that do not exist: {missing}"
