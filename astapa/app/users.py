"""The management API's and the console's commands: plans, a user's claims and plan,
disabling a user.

Each records who asked (`by`: the client_id of the project's client, or the console user).
"""

import json
from datetime import datetime

from astapa.app.tokens import TokenCommands
from astapa.domain.errors import PlanArchivedError, PlanExistsError, PlanNotFoundError, UserNotFoundError
from astapa.domain.plans import FREE, FREE_PLAN, Plan
from astapa.domain.users import User, check_custom_claims
from astapa.store.events import Decision

KEEP = object()  # the plan is not part of a claims change


class UserCommands(TokenCommands):
    # -- plans --------------------------------------------------------------------------------

    def create_plan(self, project_id: str, key: str, name: str, price: int, currency: str,
                    interval: str, claims: dict, by: str) -> Decision:
        check_custom_claims(claims)
        if key == FREE or self.exists(Plan.create_id(project_id, key)):
            raise PlanExistsError(project_id, key)
        plan = Plan(project_id=project_id, key=key, name=name, price=price, currency=currency,
                    interval=interval, claims=claims, by=by)
        return Decision([plan], plan.view())

    def change_plan(self, project_id: str, key: str, changes: dict, by: str) -> Decision:
        """PATCH /plans/{key}: name, price or claims, from now on (`free` is built in)."""
        if key == FREE:
            raise PlanExistsError(project_id, key)
        plan: Plan = self.load(Plan.create_id(project_id, key), lambda: PlanNotFoundError(project_id, key))
        claims = changes.get("claims", plan.claims)
        check_custom_claims(claims)
        plan.change(name=changes.get("name", plan.name), price=changes.get("price", plan.price), claims=claims,
                    by=by)
        return Decision([plan], plan.view())

    def archive_plan(self, project_id: str, key: str, by: str) -> Decision:
        """No longer offered for new assignments or payments; users on it keep it. Once
        (archiving again changes nothing); `free` is built in and always offered."""
        if key == FREE:
            raise PlanExistsError(project_id, key)
        plan: Plan = self.load(Plan.create_id(project_id, key), lambda: PlanNotFoundError(project_id, key))
        if not plan.archived:
            plan.archive(by=by)
        return Decision([plan], plan.view())

    def plan_of(self, project_id: str, key: str, offered: bool = False) -> dict:
        """The plan's terms now. `offered`: only a plan that may be assigned or paid for now
        (PlanArchivedError for an archived one)."""
        if key == FREE:
            return dict(FREE_PLAN)
        plan: Plan = self.load(Plan.create_id(project_id, key), lambda: PlanNotFoundError(project_id, key),
                               read_only=True)
        if offered and plan.archived:
            raise PlanArchivedError(project_id, key)
        return plan.view()

    # -- users --------------------------------------------------------------------------------

    def change_claims(self, project_id: str, sub: str, changed: dict, removed: list[str], plan,
                      by: str) -> Decision:
        """PATCH /users/{sub}/claims: custom claims set and removed, and (`plan` not KEEP) a
        plan with no end; `plan` None is back to free."""
        user = self._managed_user(project_id, sub)
        user.check_claims(changed, removed)
        if changed or removed:
            user.change_claims(changed=changed, removed=removed, by=by)
        if plan is not KEEP:
            key = plan or FREE
            user.assign_plan(plan=key, plan_claims=self.plan_of(project_id, key, offered=True)["claims"],
                             expires_at=None, by=by)
        return Decision([user])

    def assign_plan(self, project_id: str, sub: str, key: str, expires_at: float | None, by: str) -> Decision:
        """PUT /users/{sub}/plan: a plan, until `expires_at` (None: no end)."""
        user = self._managed_user(project_id, sub)
        user.assign_plan(plan=key, plan_claims=self.plan_of(project_id, key, offered=True)["claims"],
                         expires_at=expires_at, by=by)
        return Decision([user])

    def replace_claims(self, project_id: str, sub: str, claims: dict, plan, by: str) -> Decision:
        """The console's claims form: `claims` become the user's custom claims (those set,
        any other removed), decided against the user as they are now, not as the form
        showed them; `plan` as in change_claims. Values compare as JSON (1 is not true)."""
        own = self._managed_user(project_id, sub, read_only=True).custom_claims
        changed = {k: v for k, v in claims.items() if k not in own or _json(own[k]) != _json(v)}
        removed = [k for k in own if k != "plan" and k not in claims]
        return self.change_claims(project_id, sub, changed, removed, plan, by)

    def expire_plan(self, project_id: str, sub: str, now: float) -> Decision:
        """The scheduler, once a plan's end has passed: back on free (once)."""
        user = self._managed_user(project_id, sub)
        if user.plan_has_expired(now):
            user.expire_plan(plan=user.custom_claims.get("plan", FREE))
        return Decision([user])

    def user_at(self, project_id: str, sub: str, at: datetime) -> Decision:
        """The user as they were at `at`: the version of their last event at or before it,
        found from the newest event back (a time near now reads few), and loaded as the
        repository loads any version (from the nearest snapshot). None: no user then, or
        the user was erased since (whatever `at`: their past is theirs too). Records nothing."""
        aggregate_id = User.create_id(project_id, sub)
        if not self.exists(aggregate_id) or self._user(project_id, sub, read_only=True).erased:
            return Decision([], None)
        version = next((e.originator_version for e in self.repository.event_store.get(aggregate_id, desc=True)
                        if e.timestamp <= at), None)
        if version is None:
            return Decision([], None)
        user: User = self.repository.get(aggregate_id, version=version)
        return Decision([], user)

    def set_disabled(self, project_id: str, sub: str, disabled: bool, by: str) -> Decision:
        """Disabling also ends every session and refresh token at once (a new token epoch)."""
        user = self._managed_user(project_id, sub)
        if disabled and not user.disabled:
            user.disable(by=by)
            user.revoke_tokens(reason="disabled")
        elif not disabled and user.disabled:
            user.enable(by=by)
        return Decision([user])

    def _managed_user(self, project_id: str, sub: str, read_only: bool = False) -> User:
        """The user a management call names; an erased one is no longer there to manage."""
        user = self._user(project_id, sub, read_only=read_only)
        if user.erased:
            raise UserNotFoundError(project_id, sub)
        return user


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
