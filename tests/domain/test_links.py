"""Mailed links as commands on a temp event store: asked for, re-sent, superseded, used once
for one purpose; events keep only hashes (SECURITY-CHECKLIST C-89..C-91)."""

import pytest

from astapa.domain.errors import LinkRejectedError
from astapa.domain.links import MAGIC_LINK, RESET_PASSWORD, VERIFY_EMAIL, ActionLink
from astapa.domain.mail import Message
from astapa.domain.users import User
from tests.domain.test_accounts import REQUEST, WHERE, app, sign_up  # noqa: F401 (fixture)


def messages(app) -> list[Message]:
    return [app.repository.get(n.originator_id) for n in app.recorder.select_notifications(start=1, limit=1000)
            if n.topic.endswith("Message.Queued")]


def token_of(app, message: Message) -> str:
    return app.link_tokens.token(message.kind, message.link_key)


def use(app, purpose, token, now=1100.0, password_hash=None):
    return app.execute(app.use_link, purpose, token, REQUEST, "App A", now, password_hash)[0]


def test_sign_up_queues_a_verification_message_whose_link_verifies(app):
    signed_in = sign_up(app)
    [message] = messages(app)
    assert (message.kind, message.to) == (VERIFY_EMAIL, "ada@example.org")
    use(app, VERIFY_EMAIL, token_of(app, message))
    user: User = app.repository.get(User.create_id("proj_a", signed_in.sub))
    assert user.email_verified is True


def test_events_hold_the_token_hash_never_the_token(app):
    sign_up(app)
    token = token_of(app, messages(app)[0])
    stored = [n.state for n in app.recorder.select_notifications(start=1, limit=1000)]
    assert not any(token.encode() in s or token.split(".")[1].encode() in s for s in stored)
    link: ActionLink = app.link_of(token)
    assert len(link.token_hash) == 64


def test_a_link_is_single_use_and_bound_to_its_purpose(app):
    sign_up(app)
    token = token_of(app, messages(app)[0])
    for other in (RESET_PASSWORD, MAGIC_LINK):
        with pytest.raises(LinkRejectedError, match="purpose"):
            use(app, other, token, password_hash="$new")
    use(app, VERIFY_EMAIL, token)
    with pytest.raises(LinkRejectedError, match="used"):
        use(app, VERIFY_EMAIL, token)


def test_unknown_address_decides_nothing(app):
    decision = app.send_link(RESET_PASSWORD, WHERE, "nobody@example.org", 1000.0)
    assert decision.aggregates == [] and decision.value is None


def test_asking_again_resends_then_a_new_request_supersedes(app):
    sign_up(app)
    app.execute(app.send_link, MAGIC_LINK, WHERE, "ada@example.org", 1000.0)
    app.execute(app.send_link, MAGIC_LINK, WHERE, "ada@example.org", 1010.0)
    first, again = [m for m in messages(app) if m.kind == MAGIC_LINK]
    assert first.link_key == again.link_key  # the same link, mailed twice
    # Past half its life, asking again mints a new link and the old one dies.
    app.execute(app.send_link, MAGIC_LINK, WHERE, "ada@example.org", 1000.0 + 8 * 60)
    newest = [m for m in messages(app) if m.kind == MAGIC_LINK][-1]
    assert newest.link_key != first.link_key
    with pytest.raises(LinkRejectedError, match="superseded"):
        use(app, MAGIC_LINK, token_of(app, first), now=1000.0 + 9 * 60)
    use(app, MAGIC_LINK, token_of(app, newest), now=1000.0 + 9 * 60)


def test_reset_changes_the_password_and_starts_a_new_token_epoch(app):
    signed_in = sign_up(app)
    app.execute(app.send_link, RESET_PASSWORD, WHERE, "ada@example.org", 1000.0)
    reset = [m for m in messages(app) if m.kind == RESET_PASSWORD][0]
    before: User = app.repository.get(User.create_id("proj_a", signed_in.sub))
    use(app, RESET_PASSWORD, token_of(app, reset), password_hash="$new-hash")
    after: User = app.repository.get(User.create_id("proj_a", signed_in.sub))
    assert after.password_hash == "$new-hash" and after.tokens_epoch == before.tokens_epoch + 1
    assert [m.kind for m in messages(app)][-1] == "password_changed"


def test_expiry(app):
    sign_up(app)
    app.execute(app.send_link, RESET_PASSWORD, WHERE, "ada@example.org", 1000.0)
    reset = [m for m in messages(app) if m.kind == RESET_PASSWORD][0]
    position = app.recorder.max_notification_id()
    with pytest.raises(LinkRejectedError, match="expired"):
        use(app, RESET_PASSWORD, token_of(app, reset), now=1000.0 + 15 * 60, password_hash="$x")
    assert app.recorder.max_notification_id() == position  # a refusal writes nothing
