"""The README runs: every Python block, and every shell line, as written.

Conventions, in the README's source right before a block:
``<!-- readme-test: continues -->`` runs the block after the one above, in the same interpreter
and folder (the README reads top to bottom); ``needs ...`` states the one completion a block
cannot contain, which the test provides and nothing else:

- ``wandb.init()``: a stand-in ``wandb`` module (``log`` and ``Video``) on the path;
- ``an S3-compatible server at 127.0.0.1:9000``: moto's server with the bucket, on a free port
  (the block's ``127.0.0.1:9000`` is rewritten to it: nothing else on the machine is disturbed);
- ``RLlib's EnvContext``: ``ctx`` with ``worker_index=1`` and ``vector_index=0``;
- ``run from the repository's root``: a copy of ``examples/`` in the folder.

Every other block runs in a fresh interpreter in an empty folder. Lines that install or set up
(``pip install``, ``make``) are not run here, but the extras they name must exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARKER = re.compile(r"<!--\s*readme-test:(.*?)-->")
KNOWN_NEEDS = {
    "wandb.init()": "wandb",
    "S3-compatible server at 127.0.0.1:9000": "s3",
    "RLlib's EnvContext": "ctx",
    "run from the repository's root": "examples",
}


@dataclass
class Block:
    line: int
    language: str
    code: str
    continues: bool = False
    needs: set[str] = field(default_factory=set)


def _blocks() -> list[Block]:
    lines = README.read_text(encoding="utf-8").splitlines()
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
            text = marker.group(1)
            block.continues = "continues" in text
            for phrase, need in KNOWN_NEEDS.items():
                if phrase in text:
                    block.needs.add(need)
            assert "needs" not in text or block.needs, f"README line {index}: unknown need"
        blocks.append(block)
        index = end + 1
    return blocks


def _python_chains() -> list[list[Block]]:
    """Python blocks grouped so that each group runs in one interpreter, in order."""
    chains: list[list[Block]] = []
    for block in (b for b in _blocks() if b.language == "python"):
        if block.continues:
            assert chains, f"README line {block.line} continues nothing"
            chains[-1].append(block)
        else:
            chains.append([block])
    return chains


def _shell_blocks() -> list[Block]:
    return [b for b in _blocks() if b.language in ("bash", "sh", "console")]


README_S3 = "127.0.0.1:9000"  # where the README's S3-compatible store (MinIO) listens


@pytest.fixture
def s3_server(monkeypatch):
    """Moto's S3 server, bucket my-bucket (the README's MinIO), on a free port: its host:port."""
    moto_server = pytest.importorskip("moto.server")
    import boto3

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    address = f"{host}:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }  # fmt: skip
    for key, value in credentials.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=f"http://{address}").create_bucket(Bucket="my-bucket")
    yield address
    server.stop()


def _completions(needs: set[str], folder: Path, request: pytest.FixtureRequest) -> str:
    prelude = ""
    if "wandb" in needs:
        (folder / "wandb.py").write_text(  # wandb.init() done: log() records what it got
            "import json\n"
            "def init(**kwargs):\n    pass\n"
            "def log(data, **kwargs):\n"
            "    with open('wandb-log.jsonl', 'a') as f:\n"
            "        f.write(json.dumps({k: v.path for k, v in data.items()}) + '\\n')\n"
            "class Video:\n    def __init__(self, path, **kwargs):\n        self.path = path\n"
        )
    if "s3" in needs:
        request.getfixturevalue("s3_server")
    if "ctx" in needs:
        prelude += "import types\nctx = types.SimpleNamespace(worker_index=1, vector_index=0)\n"
    if "examples" in needs:
        shutil.copytree(ROOT / "examples", folder / "examples")
    return prelude


def _served_here(code: str, needs: set[str], request: pytest.FixtureRequest) -> str:
    """The README's code pointed at the servers the test started (the README names fixed ports)."""
    if "s3" not in needs:
        return code
    assert README_S3 in code, f"the block needs an S3 server but names no {README_S3}"
    return code.replace(README_S3, request.getfixturevalue("s3_server"))


def _environment(folder: Path) -> dict[str, str]:
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    python_path = os.pathsep.join([str(folder), str(ROOT / "src")])
    return {**os.environ, "PATH": path, "PYTHONPATH": python_path, "MPLBACKEND": "Agg"}


@pytest.mark.parametrize(
    "chain", _python_chains(), ids=lambda chain: "-".join(f"line{b.line}" for b in chain)
)
def test_python_blocks_run(chain, tmp_path, request):
    needs = set().union(*(block.needs for block in chain))
    code = _completions(needs, tmp_path, request) + _served_here(
        "\n".join(textwrap.dedent(block.code) for block in chain), needs, request
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:rlvideo", "-c", code],
        cwd=tmp_path, env=_environment(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"README lines {chain[0].line}+:\n{done.stderr[-3000:]}"
    if "wandb" in needs:  # the hand-off happened, with a real file
        logged = [
            json.loads(line) for line in (tmp_path / "wandb-log.jsonl").read_text().splitlines()
        ]
        assert logged, "the README's wandb example logged nothing"
        assert all((tmp_path / path).is_file() for entry in logged for path in entry.values())


def _commands(block: Block) -> list[str]:
    commands = []
    for line in block.code.splitlines():
        line = line.removeprefix("$ ").strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def _extras() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["optional-dependencies"])


@pytest.mark.parametrize("block", _shell_blocks(), ids=lambda block: f"line{block.line}")
def test_shell_lines_work_as_written(block, tmp_path, request):
    _completions(block.needs, tmp_path, request)
    served = replace(block, code=_served_here(block.code, block.needs, request))
    for command in _commands(served):
        words = shlex.split(command, comments=True)
        if words[:2] == ["pip", "install"]:
            for extra in re.findall(r"rlvideo\[([\w,-]+)\]", command):
                assert set(extra.split(",")) <= _extras(), f"{command}: no such extra"
            continue
        if words[0] == "make":  # the set-up commands: CI runs them itself
            assert words[1] in ("demo", "test"), command
            continue
        assert words[0] in ("rlvideo", "python"), f"README line {block.line}: {command}"
        done = subprocess.run(
            words, cwd=tmp_path, env=_environment(tmp_path), capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_every_block_is_run_by_a_test():
    blocks = _blocks()
    assert {b.language for b in blocks} <= {"python", "bash", "sh", "console"}
    assert sum(len(chain) for chain in _python_chains()) == sum(
        b.language == "python" for b in blocks
    )
