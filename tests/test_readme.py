"""The README and every docs page run as pasted: every example, in order, with what it says.

A user clones the repository, runs the Install section's line for every example (``pip install -e
".[all]" ...``) and pastes a page's examples, top to bottom, into one folder. This test does the
same, for ``README.md`` and for every page of ``docs/`` (the documentation site, ``make docs``):

- **One environment**, ``.venv-readme`` (``make readme-venv``; ``make test`` builds it first), made
  with exactly the Install section's line (the Makefile's ``README_INSTALL``; a test checks that
  the README and ``docs/install.md`` say it), so an example cannot lean on a package only the dev
  extra brings.
- **One folder per page**, made empty once: every example of a page writes where the ones before
  it wrote (``videos/`` is written by many), so re-running into a folder is part of what is tested.
  It holds a copy of ``examples/`` (the command-line guide's examples run from the clone's root,
  where it is). A page never needs what another page wrote.
- **In page order.** Each test runs the examples of its page before its own first, whatever order
  pytest picks, so any one can be run alone.
- **As pasted.** A Python block runs in a fresh interpreter of that environment, exactly as written;
  ``<!-- docs-test: continues -->`` (or ``readme-test``) right before a block (the prose says it
  builds on the block above) runs it after the one above, in the same interpreter. ``<!-- docs-test:
  in .venv-rllib -->`` runs it in ``.venv-rllib`` instead (``make test`` builds it: RLlib pins a
  Gymnasium of its own, so it cannot share the README's environment). ``<!-- docs-test:
  a notebook cell -->`` runs a block as one IPython cell (a Jupyter kernel is IPython), and checks
  that it shows every video it says it shows. Shell lines run one by one: ``rlvideo`` and
  ``python`` commands as written; ``export`` sets a variable for everything after it;
  ``moto_server -p 9000 &`` starts that server (the local S3 store) in the background until the
  end. ``pip install`` and ``make`` lines are what made the environment: not run, but the extras
  they name must exist. ``text`` blocks (output) and ``mermaid`` blocks (diagrams) are not run.

One change to what is pasted, and why: the docs' S3 server listens on 127.0.0.1:9000, a port
another program on a test machine may hold, so ``9000`` in ``127.0.0.1:9000`` and ``-p 9000`` is
replaced by a free port everywhere. Nothing else is added to any example.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib

from tests.helpers import decode

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
INSTALL_PAGE = DOCS / "install.md"
MAKEFILE = ROOT / "Makefile"
README_VENV = ROOT / os.environ.get("README_VENV", ".venv-readme")
MARKER = re.compile(r"<!--\s*(?:readme|docs)-test:(.*?)-->")
MARKERS = ("continues", "a notebook cell", "in .venv-rllib")
RLLIB_VENV = ROOT / os.environ.get("RLLIB_VENV", ".venv-rllib")
README_S3_PORT = "9000"  # where the docs' local S3 server (moto's) listens
RUN = ("python", "bash", "sh", "console")  # the languages of the blocks that run
NOT_RUN = ("text", "mermaid")  # a command's output; a diagram
TIMEOUT = 600  # seconds for one example (PPO's training and the console's agent take the longest)


@dataclass
class Block:
    line: int
    language: str
    code: str
    continues: bool = False
    notebook: bool = False
    rllib: bool = False  # runs in .venv-rllib: RLlib pins a Gymnasium of its own


def _pages() -> list[Path]:
    """Every page whose examples run: the README, then the docs site's pages."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _blocks(page: Path = README) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = re.match(r"^```(\w+)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        block = Block(index + 1, fence.group(1), "\n".join(lines[index + 1 : end]))
        marker = MARKER.search(lines[index - 1]) if index else None
        if marker:
            text = marker.group(1).strip()
            assert text in MARKERS, f"{_name(page)} line {index}: unknown marker {text!r}"
            block.continues = text == "continues"
            block.notebook = text == "a notebook cell"
            block.rllib = text == "in .venv-rllib"
        blocks.append(block)
        index = end + 1
    return blocks


def _python_chains(page: Path | None = None) -> list[list[Block]]:
    """Python blocks grouped so that each group runs in one interpreter, in order.

    ``page`` None: the chains of every page, page after page.
    """
    if page is None:
        return [chain for each in _pages() for chain in _python_chains(each)]
    chains: list[list[Block]] = []
    for block in (b for b in _blocks(page) if b.language == "python"):
        if block.continues:
            assert chains, f"{_name(page)} line {block.line} continues nothing"
            chains[-1].append(block)
        else:
            chains.append([block])
    return chains


def _shell_blocks(page: Path) -> list[Block]:
    return [b for b in _blocks(page) if b.language in RUN and b.language != "python"]


def _examples(page: Path) -> list[list[Block]]:
    """What a user pastes, in page order: a Python chain, or one shell block."""
    examples = _python_chains(page) + [[block] for block in _shell_blocks(page)]
    examples.sort(key=lambda example: example[0].line)
    for before, after in itertools.pairwise(examples):
        assert before[-1].line < after[0].line, (
            f"{_name(page)} line {after[0].line} comes between the blocks of a chain starting at "
            f"line {before[0].line}: a chain's blocks must follow each other"
        )
    return examples


def _all_examples() -> list[tuple[Path, int]]:
    """Every example of every page: (page, its index in the page)."""
    return [(page, index) for page in _pages() for index in range(len(_examples(page)))]


def _extras() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["optional-dependencies"])


def _readme_install() -> str:
    """The Makefile's README_INSTALL: what `make readme-venv` passes to pip install."""
    found = re.search(r"^README_INSTALL := (.+)$", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert found, "the Makefile defines no README_INSTALL"
    return found.group(1).strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Session:
    """A user's terminal for one page: one folder, one environment, servers started, in order."""

    def __init__(self, folder: Path, python: Path, page: Path) -> None:
        self.folder = folder
        self.page = page
        self.bin = python.parent
        self.port = str(_free_port())
        self.exports: dict[str, str] = {}
        self.servers: list[subprocess.Popen[bytes]] = []
        self.examples = _examples(page)
        self.done: list[str | None] = []  # per example run so far: None, or why it failed

    def environment(self) -> dict[str, str]:
        """The caller's environment with the README's venv first and nothing reaching past it."""
        leaks = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        prefixes = ("MLFLOW_", "WANDB_", "AWS_", "PYTEST_")
        kept = {
            key: value
            for key, value in os.environ.items()
            if key not in leaks and not key.startswith(prefixes)
        }
        path = os.pathsep.join([str(self.bin), kept.get("PATH", "")])
        return {**kept, **self.exports, "PATH": path}

    def served_here(self, code: str) -> str:
        """The page's code pointed at the free port the S3 server listens on (see above)."""
        code = code.replace(f"127.0.0.1:{README_S3_PORT}", f"127.0.0.1:{self.port}")
        return code.replace(f"-p {README_S3_PORT}", f"-p {self.port}")

    def run_through(self, index: int) -> str | None:
        """Runs the examples up to ``index`` not yet run, in order; why ``index`` failed or None."""
        while len(self.done) <= index:
            self.done.append(self._run(self.examples[len(self.done)]))
        return self.done[index]

    def _run(self, example: list[Block]) -> str | None:
        first = example[0]
        if first.language == "python":
            code = "\n".join(textwrap.dedent(block.code) for block in example)
            python = RLLIB_VENV / "bin" / "python" if first.rllib else self.bin / "python"
            return self._python(self.served_here(code), notebook=first.notebook, python=python)
        for command in _commands(first):
            failed = self._shell(self.served_here(command))
            if failed:
                return failed
        return None

    def _python(self, code: str, *, notebook: bool, python: Path) -> str | None:
        if notebook:  # one cell, as a Jupyter kernel (IPython) runs it
            command = [str(python), "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", code]
        else:
            command = [str(python), "-W", "error::DeprecationWarning:rlvideo", "-c", code]
        done = subprocess.run(
            command, cwd=self.folder, env=self.environment(), capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        if done.returncode != 0 or (notebook and "Traceback" in done.stdout + done.stderr):
            return f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        if notebook:
            return _shows_every_video(code, done.stdout)
        return None

    def _shell(self, command: str) -> str | None:
        words = shlex.split(command, comments=True)
        if words[:2] == ["pip", "install"]:
            for extra in re.findall(r"(?:rlvideo|\.)\[([\w,-]+)\]", command):
                if not set(extra.split(",")) <= _extras():
                    return f"{command}: no such extra"
            return None
        if words[0] == "make":  # the set-up commands: CI runs them itself
            return None if words[1:] in (["demo"], ["test"]) else f"unknown make line {command}"
        if words[0] == "export":
            self.exports.update(word.split("=", 1) for word in words[1:])  # type: ignore[misc]
            return None
        if words[0] == "moto_server" and words[-1] == "&":
            return self._start_server(words[:-1])
        if words[0] not in ("rlvideo", "python"):
            return f"a shell line this test does not know how to run: {command}"
        done = subprocess.run(
            words, cwd=self.folder, env=self.environment(), capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        if done.returncode != 0:
            return f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return None

    def _start_server(self, words: list[str]) -> str | None:
        server = subprocess.Popen(
            [str(self.bin / words[0]), *words[1:]], cwd=self.folder, env=self.environment(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.servers.append(server)
        for _ in range(300):  # until it listens (a few seconds), or it died
            if server.poll() is not None:
                return f"{' '.join(words)} exited with status {server.returncode}"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", int(self.port))) == 0:
                    return None
            time.sleep(0.1)
        return f"{' '.join(words)} did not listen on port {self.port} within 30 s"

    def close(self) -> None:
        for server in self.servers:
            server.terminate()
            server.wait(timeout=30)


def _commands(block: Block) -> list[str]:
    commands = []
    for line in block.code.splitlines():
        line = line.removeprefix("$ ").strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def _shows_every_video(code: str, output: str) -> str | None:
    """Why an IPython cell did not show every video a line of it makes, or None.

    Outside Jupyter IPython shows an object as its text form: rlvideo's ``<Video ...>`` and
    ``<Grid ...>`` (``Out[n]:`` before the cell's value). Each line of the cell that calls
    ``show`` or ``show_grid`` must show its video, not only the last line.
    """
    expected = len(re.findall(r"^show(?:_grid)?\(", code, re.M))  # each line that shows one
    shown = re.findall(r"<(?:Video|Grid) ", output)
    if len(shown) != expected or not re.search(r"Out\[\d+\]: <(?:Video|Grid) ", output):
        return f"the cell showed {len(shown)} videos or grids, not {expected}:\n{output[-2000:]}"
    return None


@pytest.fixture(scope="module")
def readme_python() -> Path:
    """The interpreter of the README's environment, made (or brought up to date) by make."""
    made = subprocess.run(
        ["make", "--no-print-directory", "readme-venv"], cwd=ROOT, capture_output=True, text=True,
        timeout=1800,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-3000:]
    return README_VENV / "bin" / "python"


class Sessions:
    """One session per page, each in a folder of its own, started when a test first needs it."""

    def __init__(self, python: Path, factory: pytest.TempPathFactory) -> None:
        self.python = python
        self.factory = factory
        self.open: dict[Path, Session] = {}

    def __getitem__(self, page: Path) -> Session:
        if page not in self.open:
            folder = self.factory.mktemp(re.sub(r"\W+", "-", _name(page)))
            shutil.copytree(ROOT / "examples", folder / "examples")
            self.open[page] = Session(folder, self.python, page)
        return self.open[page]

    def close(self) -> None:
        for session in self.open.values():
            session.close()


@pytest.fixture(scope="module")
def sessions(readme_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    opened = Sessions(readme_python, tmp_path_factory)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("page", "index"),
    _all_examples(),
    ids=[f"{_name(page)}:line{_examples(page)[index][0].line}" for page, index in _all_examples()],
)
def test_examples_run_as_pasted_in_order(page, index, sessions):
    session = sessions[page]
    failed = session.run_through(index)
    earlier = [session.examples[i][0].line for i in range(index) if session.done[i]]
    after = f" (examples failed before it, at lines {earlier})" if earlier else ""
    where = f"{_name(page)} line {session.examples[index][0].line}"
    assert failed is None, f"{where}{after}:\n{failed}"


@pytest.mark.parametrize("page", [README, INSTALL_PAGE], ids=_name)
def test_the_readme_venv_is_made_with_the_install_sections_line(page):
    install = _readme_install()
    assert f"pip install {install}\n" in page.read_text(encoding="utf-8"), (
        f"{_name(page)}'s Install section must say `pip install {install}` (the Makefile's "
        "README_INSTALL): the environment the examples are tested in"
    )


def test_the_readme_venv_holds_no_dev_package(readme_python):
    for module in ("pytest", "sb3_contrib", "playwright"):  # dev packages no example may use
        found = subprocess.run([readme_python, "-c", f"import {module}"], capture_output=True)
        assert found.returncode != 0, f"{module} is in {README_VENV}: more than the README says"


@pytest.mark.parametrize("page", _pages(), ids=_name)
def test_every_block_is_run_by_a_test(page):
    blocks = _blocks(page)
    assert {b.language for b in blocks} <= {*RUN, *NOT_RUN}, _name(page)
    ran = [b for b in blocks if b.language in RUN]
    assert sum(len(example) for example in _examples(page)) == len(ran)


def test_the_docs_have_examples():
    """The pages are found: the README and the guides hold examples (a moved folder runs none)."""
    assert _examples(README)
    assert len([page for page in _pages() if _examples(page)]) >= 10
    assert _wandb_pages(), "no page starts a wandb run: the wandb check below checks nothing"


def _wandb_pages() -> list[Path]:
    return [page for page in _pages() if any("wandb.init(" in b.code for b in _blocks(page))]


@pytest.mark.parametrize("page", _wandb_pages(), ids=_name)
def test_the_wandb_examples_videos_reached_wandb(page, sessions):
    """Each example that starts a wandb run (offline) logged its videos there, whole."""
    session = sessions[page]
    session.run_through(len(session.examples) - 1)
    started = sum(block.code.count("wandb.init(") for block in _blocks(page))
    runs = sorted((session.folder / "wandb").glob("offline-run-*"))
    assert len(runs) == started > 0
    for run in runs:
        videos = sorted((run / "files" / "media" / "videos").iterdir())
        assert videos, f"{run.name} logged no video"
        assert all(decode(video).count > 1 for video in videos)
