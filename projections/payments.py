"""Payments as the management API shows them, and which succeeded payments still wait to be
settled into a plan (what the settlement job and the reconciliation job read)."""

from sqlite_utils import Database

from astapa.domain.payments import Payment

NAME = "payments"


def create_tables(db: Database) -> None:
    db["payments"].create(
        {
            "payment_id": str, "aggregate_id": str, "project_id": str, "sub": str, "plan": str,
            "amount": int, "currency": str, "method": str, "bank_code": str, "status": str,
            "xendit_id": str, "qr_string": str, "checkout_url": str, "virtual_account_number": str,
            "expires_at": float, "created_at": float, "updated_at": str, "settled": int,
            "period_end": float, "mismatched": int, "failure": str,
        },
        pk="payment_id",
        if_not_exists=True,
    )
    db["payments"].create_index(["aggregate_id"], unique=True, if_not_exists=True)
    db["payments"].create_index(["project_id", "sub", "created_at"], if_not_exists=True)
    db["payments"].create_index(["project_id", "created_at"], if_not_exists=True)  # a project's listing
    db["payments"].create_index(["status", "settled"], if_not_exists=True)
    db["payments"].create_index(["status", "expires_at"], if_not_exists=True)


def created(db: Database, e: Payment.Created) -> None:
    db.execute(
        "INSERT INTO payments (payment_id, aggregate_id, project_id, sub, plan, amount, currency, method,"
        " bank_code, status, expires_at, created_at, updated_at, settled, mismatched)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CREATED', ?, ?, ?, 0, 0)",
        [e.payment_id, e.originator_id.hex, e.project_id, e.sub, e.plan, e.amount, e.currency, e.method,
         e.bank_code, e.expires_at, e.created_at, e.timestamp.isoformat()],
    )


def _update(db: Database, e, **columns) -> None:
    names = "".join(f"{k} = ?, " for k in columns)
    db.execute(f"UPDATE payments SET {names}updated_at = ? WHERE aggregate_id = ?",
               [*columns.values(), e.timestamp.isoformat(), e.originator_id.hex])


def pending(db: Database, e: Payment.Pending) -> None:
    _update(db, e, status="PENDING", xendit_id=e.xendit_id, qr_string=e.qr_string, checkout_url=e.checkout_url,
            virtual_account_number=e.virtual_account_number)


def failed(db: Database, e: Payment.Failed) -> None:
    _update(db, e, status="FAILED", failure=e.reason)


def expired(db: Database, e: Payment.Expired) -> None:
    _update(db, e, status="EXPIRED", failure=e.reason)


def succeeded(db: Database, e: Payment.Succeeded) -> None:
    db.execute("UPDATE payments SET status = 'SUCCEEDED', xendit_id = COALESCE(xendit_id, ?), updated_at = ?"
               " WHERE aggregate_id = ?", [e.xendit_id, e.timestamp.isoformat(), e.originator_id.hex])


def mismatched(db: Database, e: Payment.AmountMismatched) -> None:
    _update(db, e, mismatched=1)


def settled(db: Database, e: Payment.Settled) -> None:
    _update(db, e, settled=1, period_end=e.period_end)


HANDLERS = {
    Payment.Created: created,
    Payment.Pending: pending,
    Payment.Failed: failed,
    Payment.Expired: expired,
    Payment.Succeeded: succeeded,
    Payment.AmountMismatched: mismatched,
    Payment.Settled: settled,
}
