"""`astapa console add-admin` beside a running server, as an operator runs it: the setup link
it prints opens the console's setup page of that server, once."""

from pathlib import Path

import pytest
import requests

from tests.flows import hidden_fields
from tests.process import cli, run_cli, start_server

pytestmark = pytest.mark.subprocess


def test_add_admin_prints_a_setup_link_under_the_issuer_the_server_runs_with(tmp_path: Path):
    data_dir = tmp_path / "data"
    with start_server(data_dir) as server:
        added = run_cli("console", "add-admin", "--email", "Ops@Example.COM", data_dir=data_dir)
        assert added["email"] == "Ops@example.com"
        assert added["setup_url"].startswith(f"{server.url}/dashboard/setup?token=")
        session = requests.Session()
        page = session.get(added["setup_url"], timeout=10)
        assert page.status_code == 200 and "Ops@example.com" in page.text
        landed = session.post(f"{server.url}/dashboard/setup",
                              data={**hidden_fields(page.text), "password": "a long enough password"}, timeout=10)
        assert landed.status_code == 200 and landed.url == f"{server.url}/dashboard", landed.url
        assert "Projects" in landed.text
        assert requests.get(added["setup_url"], timeout=10).status_code == 400  # single use


def test_add_admin_refuses_an_address_that_is_not_one(tmp_path: Path):
    done = cli("console", "add-admin", "--email", "not an address", data_dir=tmp_path / "data")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--email" in done.stderr
