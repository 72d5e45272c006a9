"""Given events -> command -> new events or a DomainError; no I/O beyond a temp SQLite file."""

import pytest

from astapa.app import AstapaApplication
from astapa.domain.errors import ProjectNotFoundError
from astapa.domain.keys import KeyRing
from astapa.domain.projects import ClientIndex
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
