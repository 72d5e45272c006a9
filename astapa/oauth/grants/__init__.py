"""The grant registry: grant_type -> module exposing GRANT_TYPE, PARAMETERS and handle()."""

from astapa.oauth.grants import client_credentials

GRANTS = {module.GRANT_TYPE: module for module in (client_credentials,)}
