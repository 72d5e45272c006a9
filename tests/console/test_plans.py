"""The console's Plans screen: the catalog, a new plan under the management API's rules,
changing a plan from now on, and archiving (no longer offered; users on it keep it)."""

import re
from html import unescape

import pytest
import requests

from astapa.domain.errors import PlanArchivedError
from astapa.web.appkeys import application_key, writer_key
from tests.conftest import Server
from tests.console.conftest import ADMIN, ConsoleBrowser, create_project
from tests.console.helpers import api, console_actions, signed_up, sub_of

ACTOR = f"console:{ADMIN}"
PRO = {"key": "pro", "name": "Pro", "price": "149000", "currency": "IDR", "interval": "month",
       "claims": '{"max_projects": 20}'}


@pytest.fixture
def shop(admin: ConsoleBrowser) -> dict:
    return create_project(admin)


def plans_path(shop: dict, key: str = "") -> str:
    return f"/dashboard/projects/{shop['project_id']}/plans" + (f"/{key}" if key else "")


def field_error(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', html)
    return unescape(found.group(1)) if found else None


def api_plans(server: Server, shop: dict) -> dict[str, dict]:
    return {p["key"]: p for p in api(server, shop, "/plans").json()["plans"]}


def assign(server: Server, shop: dict, sub: str, key: str) -> requests.Response:
    return requests.put(f"{server.url}/api/platform/users/{sub}/plan", json={"plan": key},
                        auth=(shop["client_id"], shop["client_secret"]), timeout=10)


def test_the_form_has_the_fields_the_contract_names(admin: ConsoleBrowser, shop: dict):
    page = admin.get(plans_path(shop))
    assert page.status_code == 200
    for field, label in (("key", "Key"), ("name", "Name"), ("price", "Price"), ("currency", "Currency"),
                         ("interval", "Interval"), ("claims", "Claims (JSON)")):
        assert f'<label for="{field}">{label}</label>' in page.text
    assert ">Create plan</button>" in page.text
    assert [o for o in re.findall(r'<option value="(\w+)"', page.text.split('id="interval"', 1)[1])][:3] == \
        ["month", "year", "once"]


def test_creating_a_plan_lists_it_and_the_api_serves_it(server: Server, admin: ConsoleBrowser, shop: dict):
    answer = admin.post(plans_path(shop), **PRO)
    assert answer.status_code == 200 and answer.url.endswith("/plans?done=created"), answer.url
    assert "Plan created." in answer.text and ">pro</code>" in answer.text
    assert api_plans(server, shop)["pro"] == {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR",
                                              "interval": "month", "claims": {"max_projects": 20}}
    assert [a["actor"] for a in console_actions(server, shop["project_id"], "pro")] == [ACTOR]


def test_a_plan_that_breaks_the_rules_shows_each_error_next_to_its_field(server: Server, admin: ConsoleBrowser,
                                                                         shop: dict):
    answer = admin.post(plans_path(shop), key="Pro!", name="  ", price="12.5", currency="EUR", interval="week",
                        claims="[1]")
    assert answer.status_code == 400
    assert "a-z, 0-9" in field_error(answer.text, "key")
    assert "1 to 100 characters" in field_error(answer.text, "name")
    assert "whole number" in field_error(answer.text, "price")
    assert "IDR" in field_error(answer.text, "currency")
    assert "month" in field_error(answer.text, "interval")
    assert "JSON object" in field_error(answer.text, "claims")
    assert 'value="Pro!"' in answer.text and 'aria-describedby="key-hint key-error" aria-invalid="true"' \
        in answer.text and answer.text.count("autofocus") == 1
    reserved = admin.post(plans_path(shop), **{**PRO, "claims": '{"sub": "x"}'})
    assert reserved.status_code == 400 and "registered claim name" in field_error(reserved.text, "claims")
    assert list(api_plans(server, shop)) == ["free"]
    made = shop["project_id"]  # the project's creation is the only console action
    assert [a for a in console_actions(server, shop["project_id"], timeout=0.3) if a["subject"] != made] == []


@pytest.mark.parametrize("key", ["pro", "free"])
def test_a_key_already_used_is_refused_next_to_key(server: Server, admin: ConsoleBrowser, shop: dict, key: str):
    admin.post(plans_path(shop), **PRO)
    again = admin.post(plans_path(shop), **{**PRO, "key": key, "name": "Again"})
    assert again.status_code == 409
    assert "exists already" in field_error(again.text, "key")
    assert {p["name"] for p in api_plans(server, shop).values()} == {"Free", "Pro"}


def test_changing_a_plan_applies_from_now_on(server: Server, admin: ConsoleBrowser, shop: dict):
    admin.post(plans_path(shop), **PRO)
    signed_up(server, shop, "ada@example.org")
    sub = sub_of(server, shop, "ada@example.org")
    assert assign(server, shop, sub, "pro").status_code == 200
    page = admin.get(plans_path(shop, "pro"))
    assert page.status_code == 200 and ">Save</button>" in page.text and ">Archive plan</button>" in page.text
    changed = admin.post(plans_path(shop, "pro"), name="Pro plus", price="199000", claims='{"max_projects": 50}')
    assert changed.status_code == 200 and changed.url.endswith("?done=saved")
    assert "Saved." in changed.text and "Pro plus" in changed.text
    assert api_plans(server, shop)["pro"] == {"key": "pro", "name": "Pro plus", "price": 199000, "currency": "IDR",
                                              "interval": "month", "claims": {"max_projects": 50}}
    assert api(server, shop, f"/users/{sub}").json()["custom_claims"]["max_projects"] == 20  # kept what they got
    bad = admin.post(plans_path(shop, "pro"), name="Pro", price="-1", claims="{")
    assert bad.status_code == 400 and field_error(bad.text, "price") and field_error(bad.text, "claims")
    assert api_plans(server, shop)["pro"]["name"] == "Pro plus"
    assert [a["actor"] for a in console_actions(server, shop["project_id"], "pro", expected=2)] == [ACTOR, ACTOR]


def test_an_archived_plan_is_listed_kept_by_its_users_and_offered_to_nobody(server: Server, admin: ConsoleBrowser,
                                                                            shop: dict):
    admin.post(plans_path(shop), **PRO)
    signed_up(server, shop, "ada@example.org")
    signed_up(server, shop, "bob@example.org")
    ada, bob = sub_of(server, shop, "ada@example.org"), sub_of(server, shop, "bob@example.org")
    assert assign(server, shop, ada, "pro").status_code == 200

    archived = admin.post(plans_path(shop, "pro") + "/archive")
    assert archived.status_code == 200 and archived.url.endswith("?done=archived")
    assert "Archived: no longer offered" in archived.text and ">Archive plan</button>" not in archived.text
    listing = admin.get(plans_path(shop))
    assert re.search(r">pro</code></a></td>.*?<td>archived</td>", listing.text, re.DOTALL)
    assert api_plans(server, shop)["pro"] == {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR",
                                              "interval": "month", "claims": {"max_projects": 20},
                                              "archived": True}  # the API shows it archived

    assert api(server, shop, f"/users/{ada}").json()["custom_claims"] == {"plan": "pro", "max_projects": 20}
    refused = assign(server, shop, bob, "pro")
    assert refused.status_code == 400 and "archived" in refused.json()["error_description"]
    users = f"/dashboard/projects/{shop['project_id']}/users"
    bob_page = admin.get(f"{users}/{bob}")
    assert '<option value="pro"' not in bob_page.text
    posted = admin.post(f"{users}/{bob}", plan="pro", claims="{}")
    assert posted.status_code == 400 and field_error(posted.text, "plan")
    ada_page = admin.get(f"{users}/{ada}")
    assert re.search(r'<option value="pro" selected>Pro \(pro\), archived</option>', ada_page.text)
    kept = admin.post(f"{users}/{ada}", plan="pro", claims='{"team": "red"}')  # the same plan: kept, not assigned
    assert kept.status_code == 200
    assert api(server, shop, f"/users/{bob}").json()["custom_claims"] == {"plan": "free"}
    assert api(server, shop, f"/users/{ada}").json()["custom_claims"] == {"plan": "pro", "max_projects": 20,
                                                                          "team": "red"}
    assert [a["actor"] for a in console_actions(server, shop["project_id"], "pro", expected=2)] == [ACTOR, ACTOR]


def test_an_archived_plan_cannot_be_paid_for(server: Server, admin: ConsoleBrowser, shop: dict):
    admin.post(plans_path(shop), **PRO)
    admin.post(plans_path(shop, "pro") + "/archive")
    signed_up(server, shop, "ada@example.org")
    sub = sub_of(server, shop, "ada@example.org")
    app, writer = server.web_app[application_key], server.web_app[writer_key]
    with pytest.raises(PlanArchivedError):
        server.run(writer.run(app.create_payment, "pay_test_archived", shop["project_id"], sub, "pro", "QRIS",
                              None, "sandbox", server.clock.now(), 900, "api"))


def test_free_is_built_in(server: Server, admin: ConsoleBrowser, shop: dict):
    page = admin.get(plans_path(shop, "free"))
    assert page.status_code == 200 and "Built in" in page.text and "<form" not in page.text.split("<main", 1)[1]
    assert admin.post(plans_path(shop, "free") + "/archive").status_code == 400
    assert admin.post(plans_path(shop, "free"), name="Gratis", price="0", claims="{}").status_code == 400
    assert api_plans(server, shop)["free"]["name"] == "Free"
    assert admin.get(plans_path(shop, "nosuch")).status_code == 404
    other = create_project(admin, name="Other")
    admin.post(plans_path(shop), **PRO)
    assert admin.get(plans_path(other, "pro")).status_code == 404
