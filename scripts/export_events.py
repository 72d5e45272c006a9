"""Write the whole event log as JSON Lines, oldest first.

    python scripts/export_events.py --data-dir DIR [--output FILE]
    python scripts/export_events.py --store postgresql://… [--output FILE]

One object per event: position, type, aggregate_id, version, timestamp, then the event's
own fields. Events hold hashes of secrets only, so the export holds no secret.

Personal fields are stored sealed per person (docs/guides/erasure.md) and exported opened:
with the data dir's person-keys.db, or with a PostgreSQL store the keys in it, which need
ASTAPA_SECRET_KEY. An erased person's fields read "[erased]". Keep exports as private as the
data dir.
"""

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from astapa.app import AstapaApplication  # noqa: E402
from astapa.config import env_default  # noqa: E402
from astapa.store.person_keys import PersonKeysUnavailable  # noqa: E402

ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def encode(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def open_log(events_db: Path, store: str | None, without_person_keys: bool = False) -> AstapaApplication:
    """The data dir's SQLite log (its person keys beside it, never made anew: a log whose
    person-keys.db is missing is refused unless `without_person_keys`, when every sealed
    field reads "[erased]"), or the PostgreSQL store several servers share (its person keys
    opened with ASTAPA_SECRET_KEY)."""
    if store:
        return AstapaApplication(store_url=store, secret_key=env_default("ASTAPA_SECRET_KEY"),
                                 without_person_keys=without_person_keys)
    return AstapaApplication(events_db, without_person_keys=without_person_keys)


def export(events_db: Path, out, store: str | None = None, without_person_keys: bool = False) -> int:
    app = open_log(events_db, store, without_person_keys)
    count, start = 0, 1
    try:
        while True:
            batch = app.recorder.select_notifications(start=start, limit=1000)
            for notification in batch:
                event = app.mapper.to_domain_event(notification)
                record = {
                    "position": notification.id,
                    "type": notification.topic.split(":", 1)[1],
                    "aggregate_id": str(event.originator_id),
                    "version": event.originator_version,
                    "timestamp": event.timestamp.isoformat(),
                }
                record.update((k, v) for k, v in vars(event).items() if k not in ENVELOPE)
                out.write(json.dumps(record, default=encode) + "\n")
                count += 1
            if not batch:
                return count
            start = batch[-1].id + 1
    finally:
        app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=env_default("ASTAPA_DATA_DIR", "var"))
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.add_argument("--store", default=env_default("ASTAPA_STORE_URL"),
                        help="a PostgreSQL store (ASTAPA_STORE_URL) instead of the data dir's events.db")
    parser.add_argument("--without-person-keys", action="store_true",
                        help="export a copy of the log without its person keys: every sealed field as \"[erased]\"")
    args = parser.parse_args()
    events_db = Path(args.data_dir) / "events.db"
    if not args.store and not events_db.exists():
        print(f"export: error: no event store at {events_db}", file=sys.stderr)
        return 2
    try:
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                export(events_db, out, args.store, args.without_person_keys)
        else:
            export(events_db, sys.stdout, args.store, args.without_person_keys)
    except PersonKeysUnavailable as e:
        print(f"export: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
