"""The grant registry: grant_type -> module exposing GRANT_TYPE, PARAMETERS and handle()."""

from astapa.oauth.grants import authorization_code, client_credentials, refresh_token

GRANTS = {
    module.GRANT_TYPE: module for module in (authorization_code, client_credentials, refresh_token)
}
