"""Users, codes, refresh families and sessions: given past events, a command, then the new
events or the DomainError (a temp SQLite file, no server)."""

import pytest

from astapa.app import AstapaApplication, LinkRequest, accounts
from astapa.domain.codes import CodeRequest
from astapa.domain.errors import (
    CodeRejectedError,
    EmailTakenError,
    RefreshRejectedError,
    SessionEndedError,
)
from astapa.domain.refresh import RefreshFamily
from astapa.crypto import LinkTokens, sha256_hex

REQUEST = CodeRequest(project_id="proj_a", client_id="cid_a", redirect_uri="https://a.example/cb",
                      scopes=("openid",), code_challenge=None, nonce="n", resource=None)
WHERE = LinkRequest(project_id="proj_a", client_name="App A",
                    authorization="client_id=cid_a&redirect_uri=https%3A%2F%2Fa.example%2Fcb")


@pytest.fixture
def app(tmp_path):
    application = AstapaApplication(tmp_path / "events.db")
    application.link_tokens = LinkTokens(b"k" * 32)
    yield application
    application.close()


def sign_up(app, email_key="ada@example.org", now=1000.0):
    signed_in, _ = app.execute(app.register_user, REQUEST, WHERE, email_key, email_key, "$hash", now)
    return signed_in


def redeem(app, code, now=1001.0, **overrides):
    args = {"client_id": "cid_a", "redirect_uri": "https://a.example/cb", "verifier_challenge": None, **overrides}
    grant, _ = app.execute(app.redeem_code, code, now=now, **args)
    return grant


def family_events(app, family_key) -> list[str]:
    return [type(e).__qualname__ for e in app.repository.event_store.get(RefreshFamily.create_id(family_key))]


def test_one_account_per_project_and_email(app):
    sign_up(app)
    with pytest.raises(EmailTakenError):
        sign_up(app)


def test_a_sub_already_taken_is_drawn_again(app, monkeypatch):
    """Two users drawing the same random sub collide on the User's version; the retry wins."""
    draws = iter(["42", "42", "43"])
    monkeypatch.setattr(accounts, "new_sub", lambda: next(draws))
    assert sign_up(app, "a@example.org").sub == "42"
    assert sign_up(app, "b@example.org").sub == "43"


def test_second_redemption_revokes_the_family_the_first_started(app):
    grant = redeem(app, sign_up(app).code)
    with pytest.raises(CodeRejectedError):
        redeem(app, sign_up(app, "b@example.org").code, client_id="cid_other")  # burnt, another code
    code = sign_up(app, "c@example.org").code
    grant = redeem(app, code)
    with pytest.raises(CodeRejectedError, match="redeemed"):
        redeem(app, code)
    assert family_events(app, grant.family_key) == ["RefreshFamily.Started", "RefreshFamily.Revoked"]


def test_rotation_then_reuse_revokes(app):
    grant = redeem(app, sign_up(app).code)
    family_key, secret = grant.refresh_token.split(".")
    rotated, _ = app.execute(app.rotate_refresh, family_key, secret, "cid_a", None, 1002.0)
    with pytest.raises(RefreshRejectedError, match="reuse"):
        app.execute(app.rotate_refresh, family_key, secret, "cid_a", None, 1003.0)
    with pytest.raises(RefreshRejectedError, match="revoked"):
        app.execute(app.rotate_refresh, family_key, rotated.refresh_token.split(".")[1], "cid_a", None, 1004.0)
    assert family_events(app, family_key) == [
        "RefreshFamily.Started", "RefreshFamily.Rotated", "RefreshFamily.ReuseDetected", "RefreshFamily.Revoked"]


def test_another_client_is_refused_without_revoking(app):
    grant = redeem(app, sign_up(app).code)
    family_key, secret = grant.refresh_token.split(".")
    with pytest.raises(RefreshRejectedError, match="client"):
        app.execute(app.rotate_refresh, family_key, secret, "cid_b", None, 1002.0)
    assert family_events(app, family_key) == ["RefreshFamily.Started"]


def test_revoking_a_users_tokens_ends_families_and_sessions(app):
    signed_in = sign_up(app)
    grant = redeem(app, signed_in.code)
    app.execute(app.revoke_user_tokens, "proj_a", signed_in.sub, None)
    family_key, secret = grant.refresh_token.split(".")
    with pytest.raises(RefreshRejectedError, match="user tokens revoked"):
        app.execute(app.rotate_refresh, family_key, secret, "cid_a", None, 1002.0)
    with pytest.raises(SessionEndedError):
        app.execute(app.resume_session, REQUEST, signed_in.session_cookie, 1002.0, None)


def test_events_hold_hashes_only(app):
    signed_in = sign_up(app)
    grant = redeem(app, signed_in.code)
    stored = str([n.state for n in app.recorder.select_notifications(start=1, limit=100)])
    for secret in (signed_in.code, grant.refresh_token.split(".")[1], signed_in.session_cookie.split(".")[1]):
        assert secret not in stored
    assert sha256_hex(signed_in.code) in stored


def test_busy_families_load_from_a_snapshot(app):
    """A family rotated every hour for months stays cheap to load: a snapshot every 100."""
    grant = redeem(app, sign_up(app).code)
    family_key, secret = grant.refresh_token.split(".")
    for i in range(110):
        grant, _ = app.execute(app.rotate_refresh, family_key, secret, "cid_a", None, 1002.0 + i)
        secret = grant.refresh_token.split(".")[1]
    snapshots = list(app.snapshots.get(RefreshFamily.create_id(family_key)))
    assert [s.originator_version for s in snapshots] == [100]
    assert app.repository.get(RefreshFamily.create_id(family_key)).generation == 111


# -- the reuse grace: a lost refresh response does not sign the user out ---------------------


def rotate(app, token, now, grace=30.0):
    family_key, secret = token.split(".")
    grant, _ = app.execute(app.rotate_refresh, family_key, secret, "cid_a", None, now, reuse_grace=grace)
    return grant.refresh_token


def test_reuse_grace_the_previous_token_again_supersedes_its_unused_successor(app):
    first = redeem(app, sign_up(app).code).refresh_token
    family_key = first.split(".")[0]
    lost = rotate(app, first, 1002.0)  # committed; its response never arrived
    again = rotate(app, first, 1031.0)  # 29 s after the rotation, within 30
    assert again not in (first, lost)
    events = list(app.repository.event_store.get(RefreshFamily.create_id(family_key)))
    assert [type(e).__qualname__ for e in events] == [
        "RefreshFamily.Started", "RefreshFamily.Rotated", "RefreshFamily.RotationRetried"]
    assert events[-1].superseded_generation == 2
    assert app.repository.get(RefreshFamily.create_id(family_key)).generation == 3
    assert rotate(app, again, 1032.0)  # the new pair goes on as usual


def test_reuse_grace_a_second_retry_is_refused_and_revokes_nothing(app):
    first = redeem(app, sign_up(app).code).refresh_token
    family_key = first.split(".")[0]
    rotate(app, first, 1002.0)
    again = rotate(app, first, 1003.0)
    with pytest.raises(RefreshRejectedError, match="retried"):
        rotate(app, first, 1004.0)
    assert family_events(app, family_key) == [
        "RefreshFamily.Started", "RefreshFamily.Rotated", "RefreshFamily.RotationRetried"]
    assert rotate(app, again, 1005.0)


def test_reuse_grace_the_successor_a_retry_superseded_is_reuse(app):
    first = redeem(app, sign_up(app).code).refresh_token
    family_key = first.split(".")[0]
    lost = rotate(app, first, 1002.0)
    again = rotate(app, first, 1003.0)
    with pytest.raises(RefreshRejectedError, match="reuse"):
        rotate(app, lost, 1004.0)
    with pytest.raises(RefreshRejectedError, match="revoked"):
        rotate(app, again, 1005.0)
    assert family_events(app, family_key)[-2:] == ["RefreshFamily.ReuseDetected", "RefreshFamily.Revoked"]


def test_reuse_grace_ends_with_its_window(app):
    first = redeem(app, sign_up(app).code).refresh_token
    rotate(app, first, 1002.0)
    with pytest.raises(RefreshRejectedError, match="reuse"):
        rotate(app, first, 1032.0)  # 30 s after the rotation: the window is over


def test_reuse_grace_ends_once_the_successor_was_used(app):
    first = redeem(app, sign_up(app).code).refresh_token
    second = rotate(app, first, 1002.0)
    third = rotate(app, second, 1003.0)
    with pytest.raises(RefreshRejectedError, match="reuse"):
        rotate(app, first, 1004.0)  # two generations back
    with pytest.raises(RefreshRejectedError, match="revoked"):
        rotate(app, third, 1005.0)


def test_reuse_grace_zero_is_strict(app):
    first = redeem(app, sign_up(app).code).refresh_token
    rotate(app, first, 1002.0, grace=0)
    with pytest.raises(RefreshRejectedError, match="reuse"):
        rotate(app, first, 1002.5, grace=0)


def test_reuse_grace_logs_written_before_it_still_load(tmp_path):
    """A Project.Created without the grace gets the default, 0 (strict); a RefreshFamily.Rotated
    without the time of the rotation gives its previous token no grace (reuse, as before)."""
    import json
    import sqlite3

    from astapa.domain.projects import Project

    app = AstapaApplication(tmp_path / "events.db")
    app.link_tokens = LinkTokens(b"k" * 32)
    app.execute(app.create_project, "A", ["https://a.example/cb"], "sandbox", [], project_id="proj_a",
                refresh_reuse_grace=5)
    first = redeem(app, sign_up(app).code).refresh_token
    rotate(app, first, 1002.0)
    app.close()
    db = sqlite3.connect(tmp_path / "events.db")
    with db:
        for rowid, topic, state in db.execute("SELECT rowid, topic, state FROM stored_events").fetchall():
            fields = json.loads(state)
            for name in ("refresh_reuse_grace", "rotated_at"):
                fields.pop(name, None)
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", [json.dumps(fields).encode(), rowid])
    db.close()

    app = AstapaApplication(tmp_path / "events.db")
    try:
        assert app.repository.get(Project.create_id("proj_a")).refresh_reuse_grace == 0
        with pytest.raises(RefreshRejectedError, match="reuse"):
            rotate(app, first, 1003.0)
    finally:
        app.close()
