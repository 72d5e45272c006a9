"""The README's examples of gating a feature on `custom_claims.plan` run as written, against
a real server: the Python one with PyJWT, the JavaScript one with jose on Node."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import Server, project_on
from tests.oauth.test_refresh_token import tokens_for

REPO = Path(__file__).resolve().parent.parent
README_ISSUER = "http://127.0.0.1:8080"
JS_DEPS = REPO / ".venv" / "js-examples"  # jose, installed once per checkout


def example(name: str) -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- example: {name} -->\n```\w+\n(.*?)```", readme, re.S)
    assert match, f"README has no example {name!r}"
    return match.group(1)


@pytest.fixture
def pro_token(server: Server) -> tuple[str, dict]:
    project = project_on(server)
    tokens = tokens_for(server, project, "gate@example.org")
    auth = (project["client_id"], project["client_secret"])
    api = f"{server.url}/api/platform"
    requests.post(f"{api}/plans", auth=auth, timeout=10, json={
        "key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"})
    sub = requests.get(f"{api}/users", params={"email": "gate@example.org"}, auth=auth).json()["users"][0]["sub"]
    requests.patch(f"{api}/users/{sub}/claims", auth=auth, json={"plan": "pro"}, timeout=10).raise_for_status()
    refreshed = requests.post(f"{server.url}/oauth/token", auth=auth, timeout=10,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    return refreshed.json()["access_token"], project


def test_python_example(server: Server, pro_token):
    token, project = pro_token
    namespace: dict = {}
    exec(example("python-gate").replace(README_ISSUER, server.url), namespace)  # noqa: S102
    assert namespace["plan_of"](token, project["client_id"]) == "pro"
    import jwt

    with pytest.raises(jwt.InvalidAudienceError):
        namespace["plan_of"](token, "cid_someone_else")


def install_jose() -> Path:
    if not (JS_DEPS / "node_modules" / "jose").exists():
        JS_DEPS.mkdir(parents=True, exist_ok=True)
        (JS_DEPS / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
        # jose 6 wants Node 20 or newer; Debian's older Node gets jose 5 (the same API here).
        major = int(subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.lstrip("v").split(".")[0])
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "jose@6" if major >= 20 else "jose@5"],
                       cwd=JS_DEPS, check=True, timeout=300, capture_output=True)
    return JS_DEPS


def test_javascript_example(server: Server, pro_token, tmp_path):
    assert shutil.which("node"), "Node.js is needed for the README's JavaScript example"
    token, project = pro_token
    deps = install_jose()
    gate = deps / f"gate-{tmp_path.name}.mjs"
    gate.write_text(example("js-gate").replace(README_ISSUER, server.url))
    runner = deps / f"run-{tmp_path.name}.mjs"
    runner.write_text(f'import {{ planOf }} from "./{gate.name}";\n'
                      f'console.log(await planOf(process.argv[2], process.argv[3]));\n')
    try:
        done = subprocess.run(["node", runner.name, token, project["client_id"]], cwd=deps,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "pro"
        wrong = subprocess.run(["node", runner.name, token, "cid_someone_else"], cwd=deps,
                               capture_output=True, text=True, timeout=60)
        assert wrong.returncode != 0 and "aud" in wrong.stderr
    finally:
        gate.unlink(missing_ok=True)
        runner.unlink(missing_ok=True)
