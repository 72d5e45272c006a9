"""Given events -> command -> new events or a DomainError; no I/O beyond a temp SQLite file."""

import pytest

from astapa.app import AstapaApplication
from astapa.domain.errors import ProjectNotFoundError
from astapa.domain.keys import KeyRing
from astapa.domain.projects import Client, ClientIndex, Consent, Project
from astapa.domain.tokens import AccessToken


@pytest.fixture
def app(tmp_path):
    application = AstapaApplication(tmp_path / "events.db")
    yield application
    application.close()


def new_events(aggregate) -> list[str]:
    return [type(e).__qualname__ for e in aggregate.pending_events]


def test_revoking_an_access_token_twice_records_one_revocation():
    token = AccessToken(jti="ab" * 16, client_id="cid_a", project_id="proj_a", subject="cid_a",
                        scopes=[], audience="cid_a", expires_at=10)
    token.revoke(by_client_id="cid_a")
    token.revoke(by_client_id="cid_a")
    assert new_events(token) == ["AccessToken.Issued", "AccessToken.Revoked"]
    assert token.id == AccessToken.create_id("ab" * 16)


def test_rotation_activates_the_next_key_and_retires_the_current():
    ring = KeyRing(current_kid="k1", current_jwk={}, next_kid="k2", next_jwk={})
    ring.rotate(activated_kid="k2", retired_kid="k1", next_kid="k3", next_jwk={})
    assert (ring.current_kid, ring.next_kid, ring.retired_kids) == ("k2", "k3", ["k1"])
    assert new_events(ring) == ["KeyRing.Created", "KeyRing.Rotated"]


def test_project_creation_registers_its_client_id_in_the_index(app):
    decision = app.create_project("shop", ["https://shop.example/cb"], "sandbox", ["read"])
    project, index = decision.aggregates
    assert index.id == ClientIndex.create_id(project.client_id)
    assert index.owner_id == project.id
    assert decision.value["client_secret"] not in str(project.pending_events)
    assert project.secret_hash != decision.value["client_secret"]


def test_a_client_id_cannot_be_registered_twice(app):
    from eventsourcing.persistence import IntegrityError

    app.save(ClientIndex(client_id="cid_same", kind="machine", owner_id=AccessToken.create_id("0" * 32)))
    with pytest.raises(IntegrityError):
        app.save(ClientIndex(client_id="cid_same", kind="project", owner_id=AccessToken.create_id("1" * 32)))


def test_a_client_for_an_unknown_project_is_refused(app):
    with pytest.raises(ProjectNotFoundError):
        app.create_client("proj_missing", "bot", [], None)


def test_given_a_project_a_client_is_created_for_it(app):
    credentials, _ = app.execute(app.create_project, "shop", ["https://shop.example/cb"], "live", [])
    decision = app.create_client(credentials["project_id"], "bot", ["read"], 300)
    client, index = decision.aggregates
    assert new_events(client) == ["Client.Created"] and new_events(index) == ["ClientIndex.Registered"]
    assert client.token_ttl == 300 and client.project_id == credentials["project_id"]


def test_revoking_an_unknown_token_decides_nothing(app):
    assert app.revoke_access_token("f" * 32, "cid_a").aggregates == []


def test_consent_is_per_resource():
    consent = Consent(project_id="proj_a", sub="1", client_id="cid_a", scopes=["mcp:tools"],
                      resource="https://r1.example/mcp")
    assert consent.covers(["mcp:tools"], "https://r1.example/mcp")
    assert not consent.covers(["mcp:tools"], "https://r2.example/mcp") and not consent.covers(["mcp:tools"], None)
    consent.extend(scopes=["mcp:tools"], resource=None)
    assert consent.covers([], None) and not consent.covers(["mcp:admin"], "https://r1.example/mcp")
    assert new_events(consent) == ["Consent.Granted", "Consent.Extended"]


def test_a_consent_from_an_older_log_still_loads_and_asks_again(app):
    """Consent events written before consent named its resource have no `resource`: they
    load, and cover no request, so the user is asked once more."""
    from eventsourcing.persistence import StoredEvent

    consent = Consent(project_id="proj_a", sub="1", client_id="cid_a", scopes=["mcp:tools"],
                      resource="https://r1.example/mcp")
    consent.extend(scopes=["mcp:admin"], resource="https://r1.example/mcp")
    older = []
    for event in consent.collect_events():
        stored = app.mapper.to_stored_event(event)
        state = app.mapper.transcoder.decode(stored.state)
        del state["resource"]
        older.append(StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                                 app.mapper.transcoder.encode(state)))
    app.recorder.insert_events(older)
    loaded = app.repository.get(consent.id)
    assert (loaded.project_id, loaded.sub, loaded.client_id, loaded.version) == ("proj_a", "1", "cid_a", 2)
    for resource in ("https://r1.example/mcp", None):
        assert not loaded.covers(["mcp:tools"], resource)
    loaded.extend(scopes=["mcp:tools"], resource=None)
    assert loaded.covers(["mcp:tools"], None)


def test_projects_and_clients_from_an_older_log_load_without_post_logout_redirect_uris(app, tmp_path):
    """Project.Created and Client.Created written before post-logout redirect URIs existed
    load with none, and the clients read model projects them with none."""
    from eventsourcing.persistence import StoredEvent

    from astapa.queries import client_by_id
    from projections.runner import Runner

    project_values, _ = app.execute(app.create_project, "Old", ["https://app.example/cb"], "sandbox", [],
                                    post_logout_redirect_uris=["https://app.example/bye"])
    client_values, _ = app.execute(app.create_client, project_values["project_id"], "bot", [], None)
    older = []
    for notification in app.recorder.select_notifications(start=1, limit=100):
        state = app.mapper.transcoder.decode(notification.state)
        state.pop("post_logout_redirect_uris", None)
        older.append(StoredEvent(notification.originator_id, notification.originator_version, notification.topic,
                                 app.mapper.transcoder.encode(state)))
    old = AstapaApplication(tmp_path / "old-events.db")
    try:
        old.recorder.insert_events(older)
        project = old.repository.get(Project.create_id(project_values["project_id"]))
        assert project.post_logout_redirect_uris == []
        client = old.repository.get(Client.create_id(client_values["client_id"]))
        assert client.post_logout_redirect_uris == []
        runner = Runner(old, tmp_path / "read.db")
        runner.catch_up()
        for client_id in (project_values["client_id"], client_values["client_id"]):
            assert client_by_id(runner.conn, client_id).post_logout_redirect_uris == ()
        runner.stop()
    finally:
        old.close()
