"""Sign in with GitHub: the web application flow of a GitHub OAuth app (state, PKCE S256, the
code exchanged server-side with `Accept: application/json`, GET /user and GET /user/emails),
end to end through the hosted pages against the fake GitHub in tests/fakes/github.py."""

import pytest

from tests.social.conftest import Trip, access_claims
from tests.social.test_google import user_view, users_in


def test_github_sign_in_uses_the_primary_verified_address(social_server, project, github):
    trip = Trip(social_server, project)
    claims = access_claims(trip.tokens(trip.sign_in("github")))
    assert claims["email"] == "octo@example.org" and claims["email_verified"] is True
    sent = github.authorizations[-1]
    assert sent["code_challenge_method"] == "S256" and sent["state"]
    assert sent["redirect_uri"] == f"{social_server.url}/auth/callback/github"
    assert set(sent["scope"].split()) == {"read:user", "user:email"}
    token_call = next(r for r in github.requests if r.path == "/login/oauth/access_token")
    assert token_call.headers["accept"] == "application/json" and token_call.form["code_verifier"]
    api_calls = [r for r in github.requests if r.path.startswith("/api/v3/")]
    assert [r.path for r in api_calls] == ["/api/v3/user", "/api/v3/user/emails"]
    assert all(r.api_version == "2022-11-28" and r.headers["authorization"].startswith("Bearer ")
               for r in api_calls)
    view = user_view(social_server, project, claims["sub"])
    assert [(i["provider"], i["subject"]) for i in view["identities"]] == [("github", "583231")]
    # The GitHub id, not the address, names the identity: a changed primary address still
    # signs in the same user.
    github.add_account(583232, "other", [("x@example.org", True, True)])
    again = Trip(social_server, project, state="st-2")
    assert access_claims(again.tokens(again.sign_in("github")))["sub"] == claims["sub"]


@pytest.mark.parametrize("emails", [
    [("octo2@example.org", True, False)],  # primary not verified
    [("octo2@example.org", False, True)],  # verified, but not the primary
    [],
])
def test_no_primary_verified_address_makes_no_account(social_server, project, github, emails):
    github.add_account(9, "nomail", emails)
    github.next_account = 9
    response = Trip(social_server, project).sign_in("github")
    assert response.status_code == 400 and "no verified email address" in response.text
    assert users_in(social_server) == 0


def test_a_refused_code_is_friendly(social_server, project, github):
    trip = Trip(social_server, project)
    callback = trip.at_provider("github")
    github.fail_next(200, {"error": "bad_verification_code", "error_description": "The code passed is "
                           "incorrect or expired."}, which="token")
    response = trip.callback(callback)
    assert response.status_code == 400 and "We couldn&#39;t confirm your GitHub sign-in" in response.text


@pytest.mark.parametrize("which", ["token", "user", "emails"])
def test_github_api_trouble_is_friendly(social_server, project, github, which):
    trip = Trip(social_server, project)
    callback = trip.at_provider("github")
    github.garbage_next(which=which)
    response = trip.callback(callback)
    assert response.status_code == 502 and "GitHub isn&#39;t answering right now" in response.text
    assert users_in(social_server) == 0


def test_denied_at_github(social_server, project, github):
    github.deny_next = True
    response = Trip(social_server, project).sign_in("github")
    assert response.status_code == 400 and "You cancelled signing in with GitHub." in response.text
