"""RFC 8414 metadata, OpenID discovery and the JWKS, checked with unmodified standard clients."""

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import Server

DOCUMENTS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")


def test_metadata_lists_exactly_what_exists(server: Server):
    for path in DOCUMENTS:
        metadata = requests.get(f"{server.url}{path}").json()
        assert metadata["issuer"] == server.url
        assert metadata["grant_types_supported"] == ["authorization_code", "client_credentials", "refresh_token"]
        assert metadata["response_types_supported"] == ["code"]
        assert metadata["code_challenge_methods_supported"] == ["S256"]  # C-17: never plain
        assert metadata["authorization_response_iss_parameter_supported"] is True  # RFC 9207
        assert metadata["token_endpoint_auth_methods_supported"] == [
            "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
        assert "RS256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
        assert "HS256" not in metadata["token_endpoint_auth_signing_alg_values_supported"]  # no shared keys
        assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
        assert "registration_endpoint" not in metadata  # only a project's server may take them
        assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
        for name in ("token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint",
                     "authorization_endpoint", "userinfo_endpoint"):
            url = metadata[name]
            assert url.startswith(server.url + "/")
            method = requests.post if name.split("_")[0] in ("token", "introspection", "revocation") else requests.get
            assert method(url).status_code not in (404, 405, 500), name


def test_issuer_never_comes_from_the_host_header(server: Server):
    for path in DOCUMENTS:
        metadata = requests.get(f"{server.url}{path}", headers={"Host": "evil.example"}).json()
        assert metadata["issuer"] == server.url
        assert "evil" not in str(metadata)


def test_documents_are_cached_bytes_with_etags(server: Server):
    for path in (*DOCUMENTS, "/.well-known/jwks.json"):
        first = requests.get(f"{server.url}{path}")
        etag = first.headers["ETag"]
        assert "max-age" in first.headers["Cache-Control"]
        again = requests.get(f"{server.url}{path}", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.headers["ETag"] == etag


def test_jwks_holds_only_public_rsa_2048_keys(server: Server):
    keys = requests.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2  # the current key and the published next key
    assert len({k["kid"] for k in keys}) == 2
    for key in keys:
        assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        modulus = int.from_bytes(jwt.utils.base64url_decode(key["n"]), "big")
        assert modulus.bit_length() >= 2048


def test_authlib_client_credentials_and_pyjwt_jwks_verification(server: Server, make_client):
    """Unmodified clients: Authlib fetches a token, PyJWKClient verifies it via discovery."""
    client = make_client("read", "write")
    metadata = requests.get(f"{server.url}/.well-known/openid-configuration").json()
    session = OAuth2Session(client["client_id"], client["client_secret"], scope="read")
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["scope"] == "read"

    post_session = OAuth2Session(client["client_id"], client["client_secret"],
                                 token_endpoint_auth_method="client_secret_post")
    assert "access_token" in post_session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")

    keys = jwt.PyJWKClient(metadata["jwks_uri"])
    signing_key = keys.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(token["access_token"], signing_key.key, algorithms=["RS256"],
                        audience=client["client_id"], issuer=metadata["issuer"],
                        options={"verify_iat": False})
    assert claims["scope"] == "read"
    assert claims["sub"] == client["client_id"]


def test_a_project_s_key_set_is_404_for_a_project_that_does_not_exist(server: Server, make_project):
    """Like the project's metadata: its `jwks_uri` exists only for a project that does."""
    project = make_project()
    assert requests.get(f"{server.url}/projects/{project['project_id']}/.well-known/jwks.json").status_code == 200
    for project_id in ("prj_nobody", "%C2%84", "a.b"):
        response = requests.get(f"{server.url}/projects/{project_id}/.well-known/jwks.json")
        assert response.status_code == 404, project_id
        assert response.json()["error"] == "not_found"
