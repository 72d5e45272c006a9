"""astapa/passkeys.py against a software authenticator (tests/fakes/authenticator.py):
a passkey registers and signs in with a rising sign count, and every response made for
another challenge, origin or RP, without user verification, tampered with, or not a
response at all is refused with PasskeyError and nothing else."""

import json
import random

import cbor2
import pytest

from astapa import passkeys
from astapa.passkeys import PasskeyError
from tests.fakes.authenticator import AAGUID, SoftAuthenticator, b64url, unb64url

ISSUER = "https://auth.example.com"
RP_ID, ORIGIN = passkeys.rp_id_of(ISSUER), passkeys.origin_of(ISSUER)
USER = b"\x01user-handle-of-ada"


def register(authenticator: SoftAuthenticator) -> passkeys.RegisteredPasskey:
    options, challenge = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org", [])
    return passkeys.verify_registration(authenticator.register(options), challenge, RP_ID, ORIGIN)


def sign_in(authenticator: SoftAuthenticator) -> tuple[str, bytes]:
    """A fresh assertion and the challenge it answers."""
    options, challenge = passkeys.authentication_options(RP_ID)
    return authenticator.sign_in(options), challenge


def verify(response: str, challenge: bytes, passkey: passkeys.RegisteredPasskey, *, rp_id: str = RP_ID,
           origin: str = ORIGIN, sign_count: int | None = None) -> int:
    count = passkey.sign_count if sign_count is None else sign_count
    return passkeys.verify_authentication(response, challenge, rp_id, origin, passkey.public_key, count)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(RP_ID, ORIGIN)


def edit(response: str, change) -> str:
    """The response JSON after `change(dict)` edits it in place."""
    parsed = json.loads(response)
    change(parsed)
    return json.dumps(parsed)


# -- options -------------------------------------------------------------------------

def test_registration_options_ask_for_a_discoverable_user_verified_passkey():
    options_json, challenge = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org",
                                                            [b"old-credential-1"])
    options = json.loads(options_json)
    assert options["rp"] == {"id": RP_ID, "name": "Astapa"}
    assert unb64url(options["user"]["id"]) == USER and options["user"]["name"] == "ada@example.org"
    assert unb64url(options["challenge"]) == challenge and len(challenge) >= 16
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]  # ES256, EdDSA, RS256
    assert options["attestation"] == "none" and options["timeout"] == 120_000
    assert [unb64url(c["id"]) for c in options["excludeCredentials"]] == [b"old-credential-1"]


def test_each_options_call_has_its_own_challenge():
    assert passkeys.authentication_options(RP_ID)[1] != passkeys.authentication_options(RP_ID)[1]


@pytest.mark.parametrize("handle", [b"", b"x" * 65, "not-bytes"])
def test_registration_options_refuse_a_missing_or_oversized_user_handle(handle):
    with pytest.raises(ValueError):
        passkeys.registration_options(RP_ID, "Astapa", handle, "ada@example.org", [])


def test_authentication_options_are_discoverable_and_require_user_verification():
    options_json, challenge = passkeys.authentication_options(RP_ID)
    options = json.loads(options_json)
    assert options["rpId"] == RP_ID and options["allowCredentials"] == []
    assert options["userVerification"] == "required" and unb64url(options["challenge"]) == challenge


@pytest.mark.parametrize("issuer, rp_id, origin", [
    ("https://auth.example.com", "auth.example.com", "https://auth.example.com"),
    ("https://Auth.Example.com:443/", "auth.example.com", "https://auth.example.com"),
    ("https://auth.example.com:8443/base", "auth.example.com", "https://auth.example.com:8443"),
    ("http://localhost:8080", "localhost", "http://localhost:8080"),
    ("http://localhost:80", "localhost", "http://localhost"),
    ("http://[::1]:8080", "::1", "http://[::1]:8080"),
])
def test_rp_id_and_origin_come_from_the_issuer(issuer, rp_id, origin):
    assert (passkeys.rp_id_of(issuer), passkeys.origin_of(issuer)) == (rp_id, origin)


# -- the happy path ------------------------------------------------------------------

def test_register_then_sign_in_twice_and_the_sign_count_rises(authenticator):
    passkey = register(authenticator)
    assert passkey.credential_id in authenticator.credentials
    assert (passkey.sign_count, passkey.aaguid, passkey.backed_up, passkey.device_type) == (
        0, str(AAGUID), False, "single_device")
    response, challenge = sign_in(authenticator)
    assert passkeys.credential_id_of(response) == passkey.credential_id
    assert passkeys.user_handle_of(response) == USER
    first = verify(response, challenge, passkey)
    response, challenge = sign_in(authenticator)
    assert (first, verify(response, challenge, passkey, sign_count=first)) == (1, 2)


def test_a_synced_passkey_is_multi_device():
    passkey = register(SoftAuthenticator(RP_ID, ORIGIN, synced=True))
    assert (passkey.backed_up, passkey.device_type) == (True, "multi_device")


# -- registration refused ------------------------------------------------------------

def no_uv() -> SoftAuthenticator:
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    authenticator.user_verified = False
    return authenticator


@pytest.mark.parametrize("authenticator, challenge, rp_id", [
    (SoftAuthenticator(RP_ID, ORIGIN), b"another challenge", RP_ID),
    (SoftAuthenticator(RP_ID, "https://evil.example"), None, RP_ID),  # made on another origin
    (SoftAuthenticator("evil.example", ORIGIN), None, RP_ID),  # made for another RP
    (SoftAuthenticator(RP_ID, ORIGIN), None, "other.example.com"),  # the server expects another RP
    (no_uv(), None, RP_ID),
], ids=["challenge", "origin", "signed rp id", "expected rp id", "no uv"])
def test_registration_refused(authenticator, challenge, rp_id):
    options, issued = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org", [])
    response = authenticator.register(options)
    with pytest.raises(PasskeyError, match=r"^This passkey could not be verified\.$"):
        passkeys.verify_registration(response, challenge or issued, rp_id, ORIGIN)


def test_registration_refused_when_its_key_is_not_a_point_on_the_curve(authenticator):
    options, challenge = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org", [])

    def zero_the_key(parsed):
        attestation = cbor2.loads(unb64url(parsed["response"]["attestationObject"]))
        key_at = 37 + 16 + 2 + 16  # header, AAGUID, id length, the 16-byte id
        zero_key = {1: 2, 3: -7, -1: 1, -2: bytes(32), -3: bytes(32)}
        attestation["authData"] = attestation["authData"][:key_at] + cbor2.dumps(zero_key)
        parsed["response"]["attestationObject"] = b64url(cbor2.dumps(attestation))

    with pytest.raises(PasskeyError):
        passkeys.verify_registration(edit(authenticator.register(options), zero_the_key), challenge, RP_ID, ORIGIN)


def test_an_assertion_is_not_a_registration(authenticator):
    register(authenticator)
    response, challenge = sign_in(authenticator)
    with pytest.raises(PasskeyError):
        passkeys.verify_registration(response, challenge, RP_ID, ORIGIN)


# -- sign-in refused -----------------------------------------------------------------

def test_sign_in_refused_for_another_challenge(authenticator):
    passkey = register(authenticator)
    response, _ = sign_in(authenticator)
    with pytest.raises(PasskeyError):
        verify(response, passkeys.authentication_options(RP_ID)[1], passkey)


def test_sign_in_refused_for_another_origin(authenticator):
    passkey = register(authenticator)
    authenticator.origin = "https://auth.example.com.evil.example"  # a phishing page's origin
    with pytest.raises(PasskeyError):
        verify(*sign_in(authenticator), passkey)


def test_sign_in_refused_for_another_rp_id(authenticator):
    passkey = register(authenticator)
    with pytest.raises(PasskeyError):
        verify(*sign_in(authenticator), passkey, rp_id="example.com")
    authenticator.rp_id = "evil.example"  # the same key, signing for another RP
    for credential in authenticator.credentials.values():
        credential.rp_id = "evil.example"
    with pytest.raises(PasskeyError):
        verify(*sign_in(authenticator), passkey)


def test_sign_in_refused_without_user_verification(authenticator):
    passkey = register(authenticator)
    authenticator.user_verified = False
    with pytest.raises(PasskeyError):
        verify(*sign_in(authenticator), passkey)


def test_sign_in_refused_with_a_tampered_signature(authenticator):
    passkey = register(authenticator)
    response, challenge = sign_in(authenticator)

    def flip_last_signature_byte(parsed):
        signature = bytearray(unb64url(parsed["response"]["signature"]))
        signature[-1] ^= 0x01
        parsed["response"]["signature"] = b64url(bytes(signature))

    with pytest.raises(PasskeyError):
        verify(edit(response, flip_last_signature_byte), challenge, passkey)
    verify(response, challenge, passkey)  # the untouched one is fine


def test_sign_in_refused_with_tampered_authenticator_data(authenticator):
    passkey = register(authenticator)
    response, challenge = sign_in(authenticator)

    def bump_sign_count(parsed):
        data = bytearray(unb64url(parsed["response"]["authenticatorData"]))
        data[36] += 1
        parsed["response"]["authenticatorData"] = b64url(bytes(data))

    with pytest.raises(PasskeyError):
        verify(edit(response, bump_sign_count), challenge, passkey)


def test_sign_in_refused_with_another_credentials_key(authenticator):
    register(authenticator)
    other = register(SoftAuthenticator(RP_ID, ORIGIN))
    with pytest.raises(PasskeyError):
        verify(*sign_in(authenticator), other)


def test_a_replayed_assertion_is_refused_by_its_sign_count(authenticator):
    passkey = register(authenticator)
    response, challenge = sign_in(authenticator)
    count = verify(response, challenge, passkey)
    with pytest.raises(PasskeyError):
        verify(response, challenge, passkey, sign_count=count)


def test_a_registration_is_not_an_assertion(authenticator):
    options, challenge = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org", [])
    response = authenticator.register(options)
    passkey = passkeys.verify_registration(response, challenge, RP_ID, ORIGIN)
    with pytest.raises(PasskeyError):
        verify(response, challenge, passkey)


def test_a_stored_key_that_is_not_a_key_is_refused(authenticator):
    register(authenticator)
    response, challenge = sign_in(authenticator)
    for junk in (b"\xa0", b"\x04", b"not cbor", b"\xa1\x01\x02"):
        with pytest.raises(PasskeyError):
            passkeys.verify_authentication(response, challenge, RP_ID, ORIGIN, junk, 0)


# -- not a response at all -----------------------------------------------------------

def oversized(authenticator: SoftAuthenticator) -> str:
    register(authenticator)
    response, _ = sign_in(authenticator)
    return response + " " * passkeys.MAX_RESPONSE_CHARS


JUNK = [
    "", " ", "null", "true", "0", "[]", "{}", '"text"', "not json", "{", "\x00", "\ud800",
    "[" * 50_000,  # under the size limit, but deeper than json.loads can recurse
    '{"a":' * 20_000 + "1" + "}" * 20_000,
    '{"id": 1, "rawId": [], "response": null, "type": "public-key"}',
    '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}',
    ('{"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "!!",'
     ' "authenticatorData": "%%", "signature": "\u00e9", "attestationObject": "AA", "userHandle": 5}}'),
    None, b"{}", 42, {"id": "AA"}, ["AA"],
]


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:30])
def test_junk_is_refused_with_passkey_error_only(authenticator, junk):
    passkey = register(authenticator)
    with pytest.raises(PasskeyError):
        passkeys.verify_registration(junk, b"challenge", RP_ID, ORIGIN)
    with pytest.raises(PasskeyError):
        verify(junk, b"challenge", passkey)


def test_an_oversized_response_is_refused_before_parsing(authenticator):
    response = oversized(authenticator)
    with pytest.raises(PasskeyError) as refused:
        passkeys.verify_authentication(response, b"c", RP_ID, ORIGIN, b"k", 0)
    assert refused.value.__cause__ is None  # never reached json.loads or the library
    assert passkeys.credential_id_of(response) is None and passkeys.user_handle_of(response) is None


ODD_IDS = [
    {"rawId": "not base64!"}, {"rawId": "A"}, {"rawId": ""}, {"rawId": "AA=A"}, {"rawId": "é"},
    {"rawId": "A" * 2000}, {"rawId": 5, "id": None}, {"response": "x"}, {"response": []},
    {"response": {"userHandle": None}}, {"response": {"userHandle": "A"}}, {"response": {"userHandle": 7}},
    {"response": {"userHandle": "A" * 100}}, {"response": {"userHandle": "a+b/"}},
]


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:30])
def test_credential_id_and_user_handle_lookups_never_raise(junk):
    for found in (passkeys.credential_id_of(junk), passkeys.user_handle_of(junk)):
        assert found is None or isinstance(found, bytes)


@pytest.mark.parametrize("odd", ODD_IDS, ids=lambda o: repr(o)[:30])
def test_malformed_ids_and_handles_are_none(odd):
    assert passkeys.credential_id_of(json.dumps(odd)) is None
    assert passkeys.user_handle_of(json.dumps(odd)) is None


def test_credential_id_falls_back_to_id_and_accepts_padding():
    assert passkeys.credential_id_of('{"id": "AAE"}') == b"\x00\x01"
    assert passkeys.credential_id_of('{"rawId": "AAE=", "id": "ignored"}') == b"\x00\x01"
    assert passkeys.user_handle_of('{"response": {"userHandle": "dXNlcg"}}') == b"user"


def test_random_corruption_gives_passkey_error_or_success_never_another_exception(authenticator):
    """Flip bytes inside each base64url field and characters of the JSON itself: whatever
    the library trips on must come out as PasskeyError."""
    rng = random.Random(20_240_601)
    options, reg_challenge = passkeys.registration_options(RP_ID, "Astapa", USER, "ada@example.org", [])
    registration = authenticator.register(options)
    passkey = passkeys.verify_registration(registration, reg_challenge, RP_ID, ORIGIN)
    assertion, challenge = sign_in(authenticator)
    checks = [
        (registration, lambda r: passkeys.verify_registration(r, reg_challenge, RP_ID, ORIGIN)),
        (assertion, lambda r: verify(r, challenge, passkey)),
    ]
    for original, check in checks:
        for _ in range(300):
            corrupted = corrupt(original, rng)
            try:
                check(corrupted)
            except PasskeyError:
                pass
            passkeys.credential_id_of(corrupted)  # must not raise either
            passkeys.user_handle_of(corrupted)


def corrupt(response: str, rng: random.Random) -> str:
    if rng.random() < 0.3:  # the JSON text itself
        i = rng.randrange(len(response))
        return response[:i] + rng.choice('{}[]",:0aZ\\ ') + response[i + 1:]
    parsed = json.loads(response)
    holder, name = rng.choice([(parsed, "rawId")] + [(parsed["response"], k) for k in parsed["response"]
                                                     if isinstance(parsed["response"][k], str)])
    data = bytearray(unb64url(holder[name]))
    for _ in range(rng.randint(1, 3)):
        if data and rng.random() < 0.8:
            data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = data[:rng.randrange(len(data) + 1)]  # truncate
    holder[name] = b64url(bytes(data))
    return json.dumps(parsed)
