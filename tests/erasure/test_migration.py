"""`astapa log encrypt-personal-data` on a log written by the code of before sealing
(docs/guides/production.md, upgrading): that code is taken from git (commit TODAY, read
with `git archive`: nothing in the repository changes) and run in its own process to write
sign-ups, mail with a delivery reply quoting the address, and a Google sign-in; then the
migration seals it all in place, the server serves those users as before, and erasing one
of them leaves nothing behind."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import CLUSTER_SECRET_KEY, TEST_STORE, Server, run_cli, sqlite_store_only
from tests.erasure.search import files_holding, store_tables_holding
from tests.erasure.test_erasure import audit_verify, exported, registered
from tests.flows import PASSWORD, Browser
from tests.management.test_users_and_claims import Api

# A commit from before erasure existed: a2c36d1 was HEAD when the feature was written (its
# code, uncommitted then, is not in that commit), the newest code that writes personal data
# in clear, so the log it writes is exactly what an operator upgrading would have.
TODAY = "a2c36d1"
REPOSITORY = Path(__file__).resolve().parents[2]
ADA, BOB, CAROL = "ada.old@example.org", "bob.old@example.org", "carol.old@example.org"
GOOGLE_SUBJECT = "google-subject-4711"

WRITE_TODAYS_LOG = """
import contextlib, io, json, os, sys, time
from pathlib import Path
from astapa import cli
from astapa.app import AstapaApplication, LinkRequest, UpstreamAccount
from astapa.crypto import LinkTokens
from astapa.domain.codes import CodeRequest
from astapa.passwords import hash_password

data, password, ada, bob, carol, subject = sys.argv[1:]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    assert cli.main(["project", "create", "--data-dir", data, "--name", "app",
                     "--redirect-uri", "https://app.example/callback"]) == 0
project = json.loads(out.getvalue())
store = os.environ.get("ASTAPA_STORE_URL")
app = AstapaApplication(store_url=store) if store else AstapaApplication(Path(data) / "events.db")
app.link_tokens = LinkTokens(b"k" * 32)
request = CodeRequest(project_id=project["project_id"], client_id=project["client_id"],
                      redirect_uri="https://app.example/callback", scopes=("openid",), code_challenge=None,
                      nonce=None, resource=None)
now, hashed = time.time(), hash_password(password, 4)
subs = {}
for email in (ada, bob):
    where = LinkRequest(project["project_id"], "app", "client_id=x&login_hint=" + email)
    subs[email] = app.execute(app.register_user, request, where, email, email, hashed, now)[0].sub
queued = [n.originator_id for n in app.recorder.select_notifications(start=1, limit=10_000)
          if n.topic.endswith("Message.Queued")]
app.execute(app.record_delivery, queued[0], "smtp", "250 2.0.0 queued for <" + ada + ">")
state, binding = "ab" * 16 + ".state-secret", "binding-secret"
app.execute(app.start_external_sign_in, project["project_id"], "google", "client_id=x", state, binding, now)
app.execute(app.claim_external_sign_in, state, binding, now)
signed_in, _ = app.execute(app.sign_in_external, request, state, binding,
                           UpstreamAccount("google", subject, carol, True, True), now)
subs[carol] = signed_in.sub
app.close()
print(json.dumps({"project": project, "subs": subs}))
"""


def todays_code(into: Path) -> Path:
    """The repository's `astapa` and `projections` as of TODAY, under `into`."""
    if subprocess.run(["git", "cat-file", "-e", f"{TODAY}^{{commit}}"], cwd=REPOSITORY).returncode:
        pytest.skip(f"commit {TODAY} (the code before sealing) is not in this repository")
    into.mkdir()
    archive = subprocess.run(["git", "archive", TODAY, "astapa", "projections"], cwd=REPOSITORY,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def write_todays_log(code: Path, data_dir: Path, store: dict | None = None) -> dict:
    """`store`: ASTAPA_STORE_URL and ASTAPA_SECRET_KEY of a PostgreSQL store to write to."""
    written = subprocess.run([sys.executable, "-c", WRITE_TODAYS_LOG, str(data_dir), PASSWORD, ADA, BOB, CAROL,
                              GOOGLE_SUBJECT], cwd=code,
                             env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin", **(store or {})},
                             capture_output=True, text=True, timeout=120)
    assert written.returncode == 0, written.stderr[-3000:]
    return json.loads(written.stdout.splitlines()[-1])


PERSONAL = [ADA.encode(), BOB.encode(), CAROL.encode(), GOOGLE_SUBJECT.encode()]


@sqlite_store_only
def test_a_log_written_by_todays_code_is_sealed_in_place_and_served_as_before(
        tmp_path: Path, data_dir: Path, start_server):
    written = write_todays_log(todays_code(tmp_path / "today"), data_dir)
    project, subs = written["project"], written["subs"]
    assert files_holding(data_dir, PERSONAL), "today's code writes personal data in clear"

    sealed = run_cli("log", "encrypt-personal-data", "--data-dir", str(data_dir))
    assert sealed["sealed"] >= 10 and sealed["events"] > sealed["sealed"]
    assert files_holding(data_dir, PERSONAL) == []  # events.db's free pages and WAL included
    again = run_cli("log", "encrypt-personal-data", "--data-dir", str(data_dir))
    assert again["sealed"] == 0 and again["events"] == sealed["events"]  # idempotent
    assert audit_verify(data_dir) == 0  # the chain was rebuilt over the rewritten events

    # The server serves them as before: read models built from the sealed log, in clear.
    server: Server = start_server()
    api = Api(server, project)
    (ada,) = api.get("/users", email=ADA).json()["users"]
    assert ada["sub"] == subs[ADA] and ada["email"] == ADA
    (carol,) = api.get("/users", email=CAROL).json()["users"]
    assert [i["subject"] for i in carol["identities"]] == [GOOGLE_SUBJECT]
    browser = Browser(server.url)
    signed_in = browser.sign_in(browser.authorize_url(project["client_id"]), ADA)
    assert signed_in.status_code == 303 and "code=" in signed_in.headers["Location"]
    events = exported(data_dir)
    delivered = next(e for e in events if e["type"] == "Message.Delivered")
    assert delivered["reply"] == f"250 2.0.0 queued for <{ADA}>"

    # And erasure works on what the migration sealed.
    assert api.send("DELETE", f"/users/{subs[ADA]}", None).status_code == 204
    assert api.send("DELETE", f"/users/{subs[CAROL]}", None).status_code == 204
    assert files_holding(data_dir, [ADA.encode(), CAROL.encode(), GOOGLE_SUBJECT.encode()]) == []
    events = exported(data_dir)
    assert registered(events, subs[ADA])["email"] == "[erased]"
    assert next(e for e in events if e["type"] == "Message.Delivered")["reply"] == "[erased]"
    assert next(e for e in events if e["type"] == "Identity.Linked")["subject"] == "[erased]"
    assert registered(events, subs[BOB])["email"] == BOB
    assert api.get("/users", email=BOB).json()["users"][0]["sub"] == subs[BOB]


@pytest.mark.skipif(TEST_STORE != "postgresql", reason="a PostgreSQL store (ASTAPA_TEST_STORE=postgresql)")
def test_a_postgresql_log_written_by_todays_code_is_sealed_in_place(
        tmp_path: Path, data_dir: Path, postgres_server, monkeypatch):
    """The same migration on a PostgreSQL store: no table keeps the plaintext (the old row
    versions go with VACUUM FULL), and the export reads every field back."""
    store = {"ASTAPA_STORE_URL": postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}"),
             "ASTAPA_SECRET_KEY": CLUSTER_SECRET_KEY}
    for name, value in store.items():
        monkeypatch.setenv(name, value)
    subs = write_todays_log(todays_code(tmp_path / "today"), data_dir, store)["subs"]
    assert store_tables_holding(PERSONAL), "today's code writes personal data in clear"

    sealed = run_cli("log", "encrypt-personal-data", "--data-dir", str(data_dir))
    assert sealed["sealed"] >= 10
    assert store_tables_holding(PERSONAL) == []
    assert run_cli("log", "encrypt-personal-data", "--data-dir", str(data_dir))["sealed"] == 0
    assert audit_verify(data_dir) == 0
    events = exported(data_dir)
    assert registered(events, subs[ADA])["email"] == ADA
    assert next(e for e in events if e["type"] == "Identity.Linked")["subject"] == GOOGLE_SUBJECT
