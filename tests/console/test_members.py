"""Project members: an invitation is a mail; the invitee signs up to the console, proves
their address and sees that project only; roles decide who changes what; a project
always keeps an owner."""

import re
from html import unescape

from astapa.web.appkeys import application_key
from tests.conftest import Server
from tests.console.conftest import (
    ConsoleBrowser,
    admin_browser,
    create_project,
    member_browser,
    sign_up_to_console,
)
from tests.mail import only_action_link, outbox_messages, text_of, wait_for_outbox


def member_rows(html: str) -> dict[str, str]:
    """email -> role, as the members table shows them (a select's chosen role for owners)."""
    table = re.search(r'<table class="list" id="members">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>\s*<td>(.*?)</tr>", table, re.S):
        email = unescape(row.split("</td>", 1)[0].strip())
        selected = re.search(r'<option value="(\w+)" selected>', row)
        rows[email] = selected.group(1) if selected else re.findall(r"<td>\s*(\w+)\s*</td>", row)[0]
    return rows


def log_position(server: Server) -> int:
    return server.web_app[application_key].recorder.max_notification_id() or 0


def test_an_invited_person_gets_a_mail_signs_up_and_sees_only_that_project(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    create_project(admin, name="Other")
    base = f"/dashboard/projects/{shop['project_id']}"
    sent = len(outbox_messages(server.data_dir))
    invited = admin.post(f"{base}/members", email="vera@example.org", role="viewer")
    assert invited.status_code == 200 and "Invitation sent" in invited.text
    assert member_rows(invited.text)["vera@example.org"] == "viewer"
    invitation = wait_for_outbox(server.data_dir, sent + 1)[-1]
    assert invitation["To"] == "vera@example.org" and "Shop" in invitation["Subject"]
    assert only_action_link(invitation, server.url) == f"{server.url}/dashboard"
    assert "Shop" in text_of(invitation)

    server.clock.advance(1)  # the verification mail sorts after the invitation in the outbox
    vera = sign_up_to_console(server, "vera@example.org")
    projects = vera.get("/dashboard")
    assert projects.status_code == 200 and "Shop" in projects.text and "Other" not in projects.text
    for page in ("", "/events", "/members", "/payments", "/inbox"):
        assert vera.get(base + page).status_code == 200, page
    members = vera.get(f"{base}/members").text
    assert ">Invite</button>" not in members and "Your role is viewer" in members
    again = ConsoleBrowser(server).sign_in("vera@example.org")  # another browser, with the password
    assert "Shop" in again.text and "Other" not in again.text


def test_a_viewer_gets_403_on_a_change_and_nothing_changes(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    base = f"/dashboard/projects/{shop['project_id']}"
    viewer = member_browser(server, "vic@example.org", shop["project_id"], "viewer")
    before, members = log_position(server), member_rows(admin.get(f"{base}/members").text)
    for path, fields in ((f"{base}/members", {"email": "eve@example.org", "role": "owner"}),
                         (f"{base}/members/role", {"email": "vic@example.org", "role": "owner"}),
                         (f"{base}/members/remove", {"email": "admin@example.com"})):
        answer = viewer.post(path, **fields)
        assert answer.status_code == 403, (path, answer.status_code)
    assert log_position(server) == before
    assert member_rows(admin.get(f"{base}/members").text) == members


def test_an_admin_member_may_not_manage_members(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    base = f"/dashboard/projects/{shop['project_id']}"
    ada = member_browser(server, "ada@example.org", shop["project_id"], "admin")
    assert ada.post(f"{base}/members", email="eve@example.org", role="viewer").status_code == 403
    assert "eve@example.org" not in member_rows(admin.get(f"{base}/members").text)


def test_a_stranger_gets_404_on_the_project_pages(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    stranger = member_browser(server, "sam@example.org")
    for page in ("", "/events", "/members", "/payments", "/inbox"):
        answer = stranger.get(f"/dashboard/projects/{shop['project_id']}{page}")
        assert answer.status_code == 404 and "Shop" not in answer.text, page


def test_invitation_errors_are_shown_next_to_the_field(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    base = f"/dashboard/projects/{shop['project_id']}"
    bad = admin.post(f"{base}/members", email="not an address", role="viewer")
    assert bad.status_code == 400
    assert re.search(r'id="email"[^>]*aria-invalid="true"', bad.text) and 'id="email-error"' in bad.text
    assert 'value="not an address"' in bad.text
    admin.post(f"{base}/members", email="vera@example.org", role="viewer")
    again = admin.post(f"{base}/members", email="Vera@Example.org", role="admin")
    assert again.status_code == 409 and "already a member" in again.text and 'id="email-error"' in again.text
    no_role = admin.post(f"{base}/members", email="wes@example.org", role="emperor")
    assert no_role.status_code == 400 and 'id="role-error"' in no_role.text
    assert member_rows(admin.get(f"{base}/members").text) == {"admin@example.com": "owner",
                                                              "vera@example.org": "viewer"}


def test_the_last_owner_cannot_be_removed_or_demoted(server: Server, admin: ConsoleBrowser):
    shop = create_project(admin)
    base = f"/dashboard/projects/{shop['project_id']}"
    before = log_position(server)
    removed = admin.post(f"{base}/members/remove", email="admin@example.com")
    assert removed.status_code == 409 and "keeps at least one owner" in removed.text
    demoted = admin.post(f"{base}/members/role", email="admin@example.com", role="viewer")
    assert demoted.status_code == 409
    assert log_position(server) == before
    assert member_rows(admin.get(f"{base}/members").text) == {"admin@example.com": "owner"}

    admin.post(f"{base}/members", email="olga@example.org", role="viewer")
    promoted = admin.post(f"{base}/members/role", email="olga@example.org", role="owner")
    assert promoted.status_code == 200 and "Role changed" in promoted.text
    demoted = admin.post(f"{base}/members/role", email="admin@example.com", role="viewer")
    assert demoted.status_code == 200
    assert member_rows(demoted.text) == {"admin@example.com": "viewer", "olga@example.org": "owner"}
    last = admin.post(f"{base}/members/remove", email="olga@example.org")  # an instance admin, still
    assert last.status_code == 409
    gone = admin.post(f"{base}/members/remove", email="admin@example.com")
    assert gone.status_code == 200 and member_rows(gone.text) == {"olga@example.org": "owner"}
    events = admin.get(f"{base}/events", type="Membership.Removed").text
    assert "console:admin@example.com" in events and "admin@example.com" in events


def test_invitations_are_limited_per_console_user(start_server):
    """Each invitation mails an address the inviter chose: an owner cannot turn the console
    into a mail cannon."""
    server = start_server(console_invites_per_hour=2)
    admin = admin_browser(server)
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}/members"
    for n in range(2):
        assert admin.post(base, email=f"p{n}@example.com", role="viewer").status_code == 200
    refused = admin.post(base, email="p2@example.com", role="viewer")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "p2@example.com" not in admin.get(base).text
