"""The code blocks of README.md and docs/**/*.md, and a shell to run them in.

A fenced block in a runnable language (python, javascript, bash, sh, console, …) carries one
of two markers on the line before its fence:

    <!-- example: NAME -->        run by tests/test_doc_examples.py, in page order, against
                                  a real server (NAME is unique across the docs)
    <!-- not-run: REASON -->      shown only (a long-running server, a restore that replaces a
                                  live service's files…); tests/test_docs.py checks its syntax

Blocks in other languages (text, json, ini, nginx…) are never run; tests/test_docs.py
checks the syntax of some (a systemd unit parses as INI, braces balance in nginx).
"""

import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
# The address the docs use for a local server; tests put the test server's URL in its place.
DOCS_ISSUER = "http://127.0.0.1:8080"
JS_DEPS = REPO / ".venv" / "js-examples"  # jose, installed once per checkout

RUNNABLE = {"python": "python", "py": "python", "pycon": "python",
            "javascript": "javascript", "js": "javascript", "mjs": "javascript",
            "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash", "zsh": "bash"}

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>example|not-run):\s*(?P<value>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    path: Path  # README.md or a page under docs/
    line: int  # 1-based line of the opening fence
    language: str  # the info string's first word, lower-cased ("" for none)
    code: str  # without the fence's indentation
    marker: str | None  # "example" or "not-run"
    value: str | None  # the example's name, or the reason it is not run

    @property
    def kind(self) -> str | None:
        """python, javascript or bash for a runnable language; None otherwise."""
        return RUNNABLE.get(self.language)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def doc_files() -> list[Path]:
    """README.md, then every Markdown page under docs/, in a stable order."""
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    row = 0
    while row < len(lines):
        opening = FENCE.match(lines[row])
        if not opening:
            row += 1
            continue
        indent, ticks = opening["indent"], opening["ticks"]
        language = (opening["info"].strip().split() or [""])[0].lower().lstrip(".{")
        end = row + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[row + 1:end]]
        previous = next((lines[i] for i in range(row - 1, -1, -1) if lines[i].strip()), "")
        marked = MARKER.match(previous)
        found.append(Block(path, row + 1, language, "\n".join(body) + "\n",
                           marked["kind"] if marked else None, marked["value"] if marked else None))
        row = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for path in doc_files() for block in blocks_of(path)]


def examples_of(path: Path) -> list[Block]:
    return [block for block in blocks_of(path) if block.marker == "example"]


def example(name: str) -> Block:
    matches = [block for block in all_blocks() if block.marker == "example" and block.value == name]
    assert len(matches) == 1, f"{len(matches)} examples named {name!r} in the docs"
    return matches[0]


def pages_with_examples() -> list[Path]:
    return [path for path in doc_files() if examples_of(path)]


# --- running them ---------------------------------------------------------------------------

def install_jose() -> Path:
    """jose for the JavaScript examples, from the npm registry, once per checkout."""
    if not (JS_DEPS / "node_modules" / "jose").exists():
        JS_DEPS.mkdir(parents=True, exist_ok=True)
        (JS_DEPS / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
        # jose 6 wants Node 20 or newer; Debian's older Node gets jose 5 (the same API here).
        major = int(subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.lstrip("v").split(".")[0])
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "jose@6" if major >= 20 else "jose@5"],
                       cwd=JS_DEPS, check=True, timeout=300, capture_output=True)
    return JS_DEPS


def sandbox(directory: Path, data_dir: Path, with_node: bool = False) -> Path:
    """A working directory that looks like the checkout to the docs' commands: `.venv`,
    `scripts` and `examples` are the repository's, and `var` (the default data dir) is the
    test server's. Anything an example writes stays in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (".venv", "scripts", "examples"):
        (directory / name).symlink_to(REPO / name)
    (directory / "var").symlink_to(data_dir)
    if with_node:
        (directory / "node_modules").symlink_to(install_jose() / "node_modules")
        (directory / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
    return directory


class Shell:
    """One bash process for a page: variables set by one block are there for the next, as in
    a terminal. It stops at the first failing command (`set -euo pipefail`)."""

    def __init__(self, cwd: Path) -> None:
        env = {name: value for name, value in os.environ.items() if not name.startswith("ASTAPA_")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.cwd = cwd
        self.process = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.run("set -euo pipefail")

    def run(self, script: str) -> str:
        """Run `script`; its output (stdout and stderr). Fails if the shell exits."""
        marker = f"__done_{uuid.uuid4().hex}__"
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{script}\nprintf '\\n%s\\n' {marker}\n")
        self.process.stdin.flush()
        output: list[str] = []
        for line in self.process.stdout:
            if line.rstrip("\n") == marker:
                text = "".join(output)
                return text.removesuffix("\n")
            output.append(line)
        status = self.process.wait()
        raise AssertionError(f"the shell stopped with status {status}; its output:\n{''.join(output)}")

    def get(self, name: str) -> str:
        """A shell variable's value ("" when unset)."""
        return self.run(f'printf "%s" "${{{name}-}}"')

    def export(self, **values: str) -> None:
        for name, value in values.items():
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", name)
            quoted = "'" + value.replace("'", "'\\''") + "'"
            self.run(f"export {name}={quoted}")

    def run_block(self, block: Block, replacements: dict[str, str]) -> str:
        code = block.code
        for old, new in replacements.items():
            code = code.replace(old, new)
        if block.kind == "bash":
            return self.run(code)
        name = re.sub(r"[^A-Za-z0-9_-]", "-", block.value or "block")
        if block.kind == "python":
            (self.cwd / f"example-{name}.py").write_text(code)
            return self.run(f".venv/bin/python example-{name}.py")
        (self.cwd / f"example-{name}.mjs").write_text(code)
        return self.run(f"node example-{name}.mjs")

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
