"""The one error map (astapa/web/errors.py): each domain refusal answers the same way on
every OAuth endpoint, the management API keeps its statuses, pages never leak a detail."""

from astapa.domain.errors import (
    ClientNotFoundError,
    ClientSecretlessError,
    CodeRejectedError,
    DomainError,
    EmailTakenError,
    PlanNotFoundError,
    StoreBusyError,
    UserNotFoundError,
)
from astapa.oauth.errors import InvalidGrantError
from astapa.web.errors import API_ANSWERS, OAUTH_ANSWERS, PLAN_ANSWERS, from_domain, page_answer


def test_a_refused_code_is_invalid_grant_with_the_reason_kept_private():
    answer = from_domain(CodeRejectedError("code expired"))
    assert isinstance(answer, InvalidGrantError) and "expired" in answer.detail
    assert "expired" not in answer.body()["error_description"]


def test_the_same_refusal_answers_per_surface():
    error = UserNotFoundError("u1")
    assert (from_domain(error).error, from_domain(error).status) == ("invalid_grant", 400)
    assert (from_domain(error, API_ANSWERS).error, from_domain(error, API_ANSWERS).status) == ("not_found", 404)
    plan = PlanNotFoundError("pro")
    assert from_domain(plan, API_ANSWERS).status == 400  # a plan named in a body
    assert from_domain(plan, PLAN_ANSWERS).status == 404  # the plan the URL names


def test_a_client_refusal_on_the_management_api():
    assert from_domain(ClientNotFoundError("cid_x"), API_ANSWERS).status == 404
    secretless = from_domain(ClientSecretlessError("cid_x", "private_key_jwt"), API_ANSWERS)
    assert (secretless.error, secretless.status) == ("conflict", 409)  # the client's state, not the request


def test_an_unlisted_refusal_falls_back_to_its_nearest_listed_class():
    assert from_domain(EmailTakenError("a@b"), OAUTH_ANSWERS).error == "invalid_request"
    assert from_domain(StoreBusyError("busy")).status == 503


def test_pages_show_friendly_text_and_the_right_status():
    assert page_answer(StoreBusyError("busy")).status == 503
    assert page_answer(RuntimeError("boom")).status == 500
    assert "boom" not in page_answer(RuntimeError("boom")).text
    assert page_answer(from_domain(DomainError("x"))).title == "This sign-in link is not valid"
