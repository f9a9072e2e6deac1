"""Every command and code block in the README and docs/*.md runs, so that a stale doc fails CI.

Each document's fenced blocks run in order in a fresh temporary folder that holds links to the
repository's ``scenarios/`` and ``examples/`` (the docs' paths are relative to the repository's
root), so a later block may use what an earlier one wrote, as a reader following the page would:

- ``bash`` blocks: each ``newpower ...`` line runs in this process (``sim.faces.cli.main``) and
  must exit 0; any other command must be marked ``skip`` with a reason;
- ``python`` blocks run with ``exec``;
- ``toml`` blocks must parse; ``json`` blocks must parse; other blocks are prose (diagrams, file
  lists, formulas, sample output) and are not run.

A block may be shrunk or skipped by an HTML comment right above it (invisible on GitHub), one
directive a line::

    <!-- doc-test
    append: --set network.n=300 --steps 10        (added to every newpower command of the block)
    append sweep: --replications 1                 (added to that sub-command only)
    replace: results/castle-20250101-120000 -> my-run   (text replaced before running)
    skip: needs a Slurm cluster                    (not run; the test reports the reason)
    -->

Shrinking keeps every option the doc shows (argparse keeps the last value of a repeated option),
so the documented command line itself is what is checked.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import sys
import tomllib
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.faces.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- doc-test\n(?P<marks>.*?)-->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)
RUN = ("bash", "sh", "python", "toml", "json")


@dataclass
class Block:
    """One fenced block of a document and what its marker says."""

    doc: str
    line: int
    lang: str
    body: str
    skip: str = ""
    append: dict[str, list[str]] = field(default_factory=dict)
    replace: list[tuple[str, str]] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The document's fenced blocks, in order, with their markers applied to their text."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        block = Block(name, text[: m.start("lang")].count("\n") + 1, m["lang"], m["body"])
        for mark in (m["marks"] or "").strip().splitlines():
            key, _, value = mark.partition(":")
            key, value = key.strip(), value.strip()
            if key == "skip":
                block.skip = value
            elif key.startswith("append"):
                block.append.setdefault(key.removeprefix("append").strip(), []).extend(shlex.split(value))
            elif key == "replace":
                old, _, new = value.partition(" -> ")
                block.replace.append((old, new))
            else:
                raise AssertionError(f"{block.where()}: unknown doc-test directive {mark!r}")
        for old, new in block.replace:
            assert old in block.body, f"{block.where()}: replace: {old!r} is not in the block"
            block.body = block.body.replace(old, new)
        out.append(block)
    return out


def commands(body: str) -> list[list[str]]:
    """The shell lines of a block (continuations joined, comments dropped), each as its words."""
    joined = body.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def run_bash(block: Block) -> None:
    for words in commands(block.body):
        if words[0] != "newpower":
            raise AssertionError(
                f"{block.where()}: {' '.join(words)!r} is not a newpower command: mark it skip"
            )
        argv = words[1:] + block.append.get("", []) + block.append.get(words[1] if len(words) > 1 else "", [])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        assert code == 0, f"{block.where()}: newpower {' '.join(argv)} exited {code}: {err.getvalue()[-800:]}"


def run_python(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a Python block as the body of a module of its own (dataclasses look their module up)."""
    module = types.ModuleType(f"doc_block_{block.line}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(block.body, block.where(), "exec"), module.__dict__)  # noqa: S102 - the docs are ours


def run_block(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.lang in ("bash", "sh"):
        run_bash(block)
    elif block.lang == "python":
        run_python(block, monkeypatch)
    elif block.lang == "toml":
        tomllib.loads(block.body)
    elif block.lang == "json":
        json.loads(block.body)


def _workspace(tmp_path: Path) -> Path:
    for name in ("scenarios", "examples"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    return tmp_path


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_block_of_the_doc_runs(doc, tmp_path, monkeypatch):
    """Run the document's blocks in order; report the ones marked skip and why."""
    monkeypatch.chdir(_workspace(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "examples"))  # as the docs say: user code beside the scenario
    skipped = []
    for block in blocks(doc):
        if block.lang not in RUN:
            continue
        if block.skip:
            skipped.append(f"{block.where()}: {block.skip}")
            continue
        run_block(block, monkeypatch)
    if skipped:
        warnings.warn("doc blocks not run: " + "; ".join(skipped), stacklevel=1)


def test_directives_are_read(tmp_path):
    """The markers shrink, replace and skip as documented above (a marker that did nothing would hide a stale doc)."""
    doc = tmp_path / "x.md"
    doc.write_text(
        "<!-- doc-test\nappend: --steps 2\nappend sweep: --replications 1\nreplace: big -> small\n-->\n"
        "```bash\nnewpower run big.toml \\\n  --seed 3   # comment\n```\n"
        "<!-- doc-test\nskip: needs a cluster\n-->\n```python\nraise SystemExit\n```\n```text\nnot run\n```\n",
        encoding="utf-8",
    )
    first, second, third = blocks(doc)
    assert commands(first.body) == [["newpower", "run", "small.toml", "--seed", "3"]]
    assert first.append == {"": ["--steps", "2"], "sweep": ["--replications", "1"]}
    assert second.skip == "needs a cluster" and third.lang == "text"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (not ``-`` or ``_``), spaces as ``-``."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_within_a_doc_reach_a_heading(doc):
    """Every ``(#anchor)`` link of a document names one of its headings as GitHub anchors it."""
    text = doc.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    anchors = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", prose, re.MULTILINE)}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", prose)) - anchors)
    assert not broken, f"{doc.name}: links to no heading: {broken}"
