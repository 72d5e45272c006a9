"""Signing keys: made at first start, private PEMs 0600, rotation through a published next key."""

import json
import os
import stat
import subprocess
import sys
import time

import jwt
import requests

from astapa.web.appkeys import application_key, signing_keys_key
from tests.conftest import Server


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def jwks_kids(server: Server) -> list[str]:
    return [k["kid"] for k in requests.get(f"{server.url}/.well-known/jwks.json").json()["keys"]]


def test_private_keys_are_0600_files_and_events_hold_only_public_parts(server: Server):
    pems = list((server.data_dir / "keys").glob("*.pem"))
    assert len(pems) == 2
    for pem in pems:
        assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
        assert pem.stem in jwks_kids(server)
    export = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                            capture_output=True, text=True, check=True).stdout
    ring = [json.loads(line) for line in export.splitlines() if '"KeyRing.' in line]
    assert ring and all(set(e["current_jwk"]) == {"kty", "n", "e", "kid", "use", "alg"} for e in ring)
    for pem in pems:
        assert "PRIVATE" not in export and pem.read_text().splitlines()[1] not in export


def test_rotation_activates_the_key_cached_jwks_sets_already_hold(server: Server, make_client):
    client = make_client()
    old_token = server.access_token(client)
    cached_jwks = requests.get(f"{server.url}/.well-known/jwks.json").json()
    old_kid, next_kid = [k["kid"] for k in cached_jwks["keys"]]
    assert kid_of(old_token) == old_kid

    result = subprocess.run([sys.executable, "-m", "astapa", "keys", "rotate", "--data-dir", str(server.data_dir)],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["current_kid"] == next_kid
    deadline = time.monotonic() + 5
    while kid_of(new_token := server.access_token(client)) != next_kid:
        assert time.monotonic() < deadline, "server did not sign with the new key within 5 s"
        time.sleep(0.05)

    # A verifier that cached the JWKS before the rotation verifies the new token offline.
    cached = jwt.PyJWKSet.from_dict(cached_jwks)
    key = next(k for k in cached.keys if k.key_id == next_kid)
    jwt.decode(new_token, key.key, algorithms=["RS256"], audience=client["client_id"], options={"verify_iat": False})
    # The old key stays listed while tokens it signed are alive; a new next key is published.
    kids = jwks_kids(server)
    assert kids[0] == next_kid and old_kid in kids and len(kids) == 3
    assert requests.post(f"{server.url}/oauth/introspect", data={"token": old_token},
                         auth=(client["client_id"], client["client_secret"])).json()["active"] is True


def test_retired_key_leaves_the_jwks_after_its_tokens_expired(server: Server, make_client):
    make_client(ttl=7200)
    old_kid = server.web_app[signing_keys_key].current().signing_kid
    from tests.conftest import run_cli

    run_cli("keys", "rotate", "--data-dir", str(server.data_dir))
    deadline = time.monotonic() + 5
    while server.web_app[signing_keys_key].current().signing_kid == old_kid:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.clock.advance(7200)  # the longest token lifetime, but not the slack yet
    time.sleep(1.5)
    assert old_kid in jwks_kids(server)
    server.clock.advance(400)
    deadline = time.monotonic() + 5
    while old_kid in jwks_kids(server):
        assert time.monotonic() < deadline, "retired key still listed after its tokens expired"
        time.sleep(0.1)


def test_concurrent_rotations_both_take_effect(server: Server):
    procs = [subprocess.Popen([sys.executable, "-m", "astapa", "keys", "rotate", "--data-dir", str(server.data_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ring = server.web_app[application_key].key_ring()
    assert len(ring.retired_kids) == 2
