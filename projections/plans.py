"""Each project's plan catalog: `free` from the project's creation, then every plan added;
an archived plan stays, marked (`archived` 1), for the users still on it."""

import json

from sqlite_utils import Database

from astapa.domain.plans import FREE_PLAN, Plan
from astapa.domain.projects import Project

NAME = "plans"


def create_tables(db: Database) -> None:
    db["plans"].create(
        {"project_id": str, "key": str, "plan_id": str, "name": str, "price": int, "currency": str,
         "interval": str, "claims": str, "created_at": str, "archived": int},
        pk=("project_id", "key"),
        defaults={"archived": 0},
        if_not_exists=True,
    )
    db["plans"].create_index(["plan_id"], if_not_exists=True)


def _insert(db: Database, project_id: str, plan: dict, created_at: str, plan_id: str | None) -> None:
    db.execute(
        "INSERT INTO plans (project_id, key, plan_id, name, price, currency, interval, claims, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [project_id, plan["key"], plan_id, plan["name"], plan["price"], plan["currency"], plan["interval"],
         json.dumps(plan["claims"]), created_at],
    )


def project_created(db: Database, e: Project.Created) -> None:
    _insert(db, e.project_id, FREE_PLAN, e.timestamp.isoformat(), None)


def plan_created(db: Database, e: Plan.Created) -> None:
    _insert(db, e.project_id, {"key": e.key, "name": e.name, "price": e.price, "currency": e.currency,
                               "interval": e.interval, "claims": e.claims}, e.timestamp.isoformat(),
            e.originator_id.hex)


def plan_changed(db: Database, e: Plan.Changed) -> None:
    db.execute("UPDATE plans SET name = ?, price = ?, claims = ? WHERE plan_id = ?",
               [e.name, e.price, json.dumps(e.claims), e.originator_id.hex])


def plan_archived(db: Database, e: Plan.Archived) -> None:
    db.execute("UPDATE plans SET archived = 1 WHERE plan_id = ?", [e.originator_id.hex])


HANDLERS = {Project.Created: project_created, Plan.Created: plan_created, Plan.Changed: plan_changed,
            Plan.Archived: plan_archived}
