"""The documentation: the README as a front door, docs/ as an MkDocs site.

- The site builds with `mkdocs build --strict` (broken links and anchors fail it), offline,
  with the reference pages generated from the code (scripts/docs_reference.py).
- Every fenced block in a runnable language is either an example that
  tests/test_doc_examples.py runs, or marked `not-run` with a reason; the ones not run are
  at least parsed, and so are the configuration files shown (systemd, nginx).
- Commands look the same everywhere, and user docs never cite internal checklist ids.
"""

import configparser
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

from tests.doc_examples import DOCS, REPO, all_blocks, doc_files

README_LIMIT = 12_000  # bytes
GENERATED = ["reference/configuration.md", "reference/cli.md", "reference/http-api.md", "reference/events.md"]
STALE = re.compile(r"\bC-\d+\b|\bT[1-9]\b|checklist|later issues?\b|comes? with later", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once for this module, with every proxy pointing nowhere: a plugin
    that fetched anything at build time would fail the build."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def page_text(site: Path, uri: str) -> str:
    html = (site / uri.removesuffix(".md") / "index.html").read_text()
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_readme_is_a_front_door():
    readme = (REPO / "README.md").read_bytes()
    assert len(readme) <= README_LIMIT, f"README.md is {len(readme)} bytes; move detail to docs/"
    text = readme.decode()
    for needed in ("scripts/serve.sh --demo", "scripts/test.sh", "## Try it in a minute",
                   "## Add sign-in to your app", "## Documentation"):
        assert needed in text
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not re.match(r"[a-z]+:", target):
            assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_the_site_builds_strict_and_offline(site: Path):
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    assert config["docs_dir"] == "docs" and config["theme"]["name"] == "material"
    assert config["theme"].get("font") is False, "no web fonts: the site must not call Google"
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in config.get("plugins", [])]
    assert set(plugins) <= {"search", "offline"}, f"plugins that may fetch at build time: {plugins}"
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', text), f"{html} loads from the internet"
    for uri in ["index.md", "architecture.md", "benchmarks.md", *GENERATED]:
        assert (site / uri.removesuffix(".md").removesuffix("index") / "index.html").exists(), uri


def test_the_reference_pages_are_generated_not_committed(site: Path):
    for uri in GENERATED:
        assert not (DOCS / uri).exists(), f"docs/{uri} is generated at build time; do not commit it"
    from astapa.cli import build_parser
    from astapa.config import Settings

    configuration = page_text(site, "reference/configuration.md")
    for field in dataclasses.fields(Settings):
        assert field.name in configuration
    for twin in re.findall(r'"(ASTAPA_[A-Z0-9_]+)"', (REPO / "astapa" / "config.py").read_text()):
        assert twin in configuration, twin
    cli = page_text(site, "reference/cli.md")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from docs_reference import _leaf_commands
    finally:
        sys.path.remove(str(REPO / "scripts"))
    for path, _, _ in _leaf_commands(build_parser()):
        assert "astapa " + " ".join(path) in cli
    import json

    api = (site / "reference" / "http-api" / "index.html").read_text()
    for path, item in json.loads((REPO / "openapi.json").read_text())["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"{method.upper()} {path}" in unescape(api), f"{method.upper()} {path}"
    events = page_text(site, "reference/events.md")
    for name in ("User.Registered", "RefreshFamily.Rotated", "AccessToken.Issued", "Payment.Settled"):
        assert name in events


def test_every_runnable_block_is_run_or_marked_not_run():
    names: dict[str, str] = {}
    for block in all_blocks():
        if block.marker == "example":
            assert block.kind, f"{block.where}: only python, javascript and bash examples can run"
            assert block.value and re.fullmatch(r"[a-z0-9-]+", block.value), f"{block.where}: bad name"
            assert block.value not in names, f"{block.where}: example {block.value} is also at {names[block.value]}"
            names[block.value] = block.where
        elif block.kind:
            assert block.marker == "not-run" and block.value, (
                f"{block.where}: a {block.language} block is neither an example (<!-- example: NAME -->) "
                f"nor marked <!-- not-run: REASON -->; or give a non-runnable language (text, ini, nginx…)")


def test_blocks_not_run_still_parse(tmp_path):
    for index, block in enumerate(all_blocks()):
        if block.marker == "example" or not block.kind:
            continue
        if block.kind == "bash":
            done = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{block.where}: {done.stderr}"
        elif block.kind == "python":
            compile(block.code, block.where, "exec")
        elif shutil.which("node"):
            script = tmp_path / f"block{index}.mjs"
            script.write_text(block.code)
            done = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{block.where}: {done.stderr}"


def test_configuration_files_shown_parse():
    checked = 0
    for block in all_blocks():
        if block.language == "ini":
            parser = configparser.ConfigParser(strict=False, interpolation=None)
            parser.optionxform = str
            parser.read_string(block.code)
            assert parser.sections(), f"{block.where}: no sections"
            if "Service" in parser:  # a systemd unit
                assert {"Unit", "Service", "Install"} <= set(parser.sections()), block.where
                assert ".venv/bin/astapa serve" in parser["Service"]["ExecStart"], block.where
            checked += 1
        elif block.language == "nginx":
            code = re.sub(r"#.*", "", block.code)
            depth = 0
            for char in code:
                depth += {"{": 1, "}": -1}.get(char, 0)
                assert depth >= 0, f"{block.where}: unbalanced braces"
            assert depth == 0, f"{block.where}: unbalanced braces"
            for line in code.splitlines():
                line = line.strip()
                assert not line or line.endswith((";", "{", "}")), f"{block.where}: {line!r} does not end with ;"
            assert "proxy_pass http://127.0.0.1:8080;" in code, block.where
            checked += 1
    assert checked >= 2, "the production guide shows a systemd unit and an nginx server"


def test_commands_are_written_one_way():
    """`.venv/bin/astapa …` and `.venv/bin/python scripts/…` in every runnable block."""
    for block in all_blocks():
        if block.kind != "bash":
            continue
        for line in block.code.splitlines():
            command = line.split("#", 1)[0]
            for match in re.finditer(r"(\S*)\bastapa (serve|project|client|resource|keys)\b", command):
                assert match[1].endswith(".venv/bin/"), f"{block.where}: write .venv/bin/astapa, not {match[0]!r}"
            for match in re.finditer(r"(\S*)\bpython3? (\S*scripts/)", command):
                assert match[1].endswith(".venv/bin/"), f"{block.where}: write .venv/bin/python, not {match[0]!r}"


def test_user_docs_say_what_the_product_does(site: Path):
    """No internal checklist ids, no "comes with later issues", in the sources or the
    generated pages."""
    for path in doc_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not STALE.search(line), f"{path.relative_to(REPO)}:{number}: {line.strip()}"
    for html in site.rglob("*.html"):
        text = unescape(re.sub(r"<[^>]+>", " ", html.read_text()))
        found = STALE.search(text)
        assert not found, f"{html.relative_to(site)}: {text[max(0, found.start() - 80):found.end() + 80]}"


def test_every_screenshot_is_shown():
    pages = "\n".join(path.read_text() for path in doc_files())
    for image in DOCS.glob("*.png"):
        assert image.name in pages, f"docs/{image.name} is on no page"
