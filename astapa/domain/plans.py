"""A project's plan catalog: what a user can be on, and the claims that come with it.

A plan's aggregate id derives from (project, key), so a key is used once per project. Every
project has the plan `free` (price 0) without an event: it is the plan of new users.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.ids import index_id

FREE = "free"
INTERVALS = ("month", "year", "once")
# Currencies Xendit charges in; the price is an integer in the currency's smallest unit
# that Xendit takes (whole rupiah for IDR, which has no minor unit in practice).
CURRENCIES = ("IDR", "PHP", "THB", "VND", "MYR", "SGD", "USD")


class Plan(Aggregate):
    archived = False  # logs and aggregates from before archiving existed load as not archived

    @event("Created")
    def __init__(self, project_id: str, key: str, name: str, price: int, currency: str, interval: str,
                 claims: dict, by: str) -> None:
        self.project_id = project_id
        self.key = key
        self.name = name
        self.price = price
        self.currency = currency
        self.interval = interval
        self.claims = dict(claims)

    @event("Changed")
    def change(self, name: str, price: int, claims: dict, by: str) -> None:
        """From now on. Payments already made (or pending) keep the price they were
        created with, and users already on the plan keep the claims they got with it."""
        self.name = name
        self.price = price
        self.claims = dict(claims)

    @event("Archived")
    def archive(self, by: str) -> None:
        """No longer offered: not assigned or paid for from now on. Users on it keep it,
        with the claims they got, and it stays in the catalog (its key is not reused)."""
        self.archived = True

    @staticmethod
    def create_id(project_id: str, key: str) -> UUID:
        return index_id("plan", f"{project_id}/{key}")

    def view(self) -> dict:
        return plan_view(self.key, self.name, self.price, self.currency, self.interval, self.claims)


def plan_view(key: str, name: str, price: int, currency: str, interval: str, claims: dict) -> dict:
    return {"key": key, "name": name, "price": price, "currency": currency, "interval": interval,
            "claims": dict(claims)}


FREE_PLAN = plan_view(FREE, "Free", 0, "IDR", "once", {})
