"""The grant registry: grant_type -> module exposing GRANT_TYPE and `handle`, which checks
the request and returns what to issue (grants/outcomes.py)."""

from astapa.oauth.grants import authorization_code, client_credentials, refresh_token

GRANTS = {
    module.GRANT_TYPE: module for module in (authorization_code, client_credentials, refresh_token)
}
