"""Drop every read model and rebuild it from the event log.

    python scripts/rebuild_projections.py --data-dir DIR [--into PATH [--until TIME]] [--store postgresql://…]

The rebuild is written to a new file and swapped in when complete, so a failure leaves the
old read models in place. The server must be stopped (its lock on the data dir is checked);
with --into, the rebuild goes to PATH instead and may run while the server serves. With
--until (an RFC 3339 time with a zone, and --into), PATH holds the read models as they were
then: the log up to its last event stamped at or before TIME, for auditors to query.
A progress bar is shown on a terminal; otherwise the script is quiet. With --store (a node
of a cluster), the log is read from PostgreSQL and DIR is the node's own data dir.
"""

import argparse
import os
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm  # noqa: E402

from astapa.app import AstapaApplication  # noqa: E402
from astapa.config import ConfigError, env_default  # noqa: E402
from astapa.server import lock_data_dir  # noqa: E402
from astapa.store.person_keys import PersonKeysUnavailable  # noqa: E402
from projections.mail import delete_expired  # noqa: E402
from projections.runner import Runner  # noqa: E402


def rebuild(events_db: Path, target: Path, show_progress: bool = False, store: str | None = None,
            until: datetime | None = None) -> int:
    """Build read models from zero into `target` (which must not exist); return the position.
    The log is the data dir's events.db, or the PostgreSQL store at `store`; with `until`,
    only its events up to that time."""
    app = AstapaApplication(store_url=store) if store else AstapaApplication(events_db)
    try:
        runner = Runner(app, target)
        # No fsync per batch: a rebuild cut short is thrown away, never used. (Checkpoints
        # syncing a growing read.db took some 40 % of a rebuild's time.) The whole file is
        # made durable once, at the end, before it can be swapped in.
        runner.conn.execute("PRAGMA synchronous=OFF")
        total = (app.recorder.max_notification_id() or 0) if until is None else runner.position_at(until)
        with tqdm(total=total, unit="event", disable=not show_progress, file=sys.stderr) as bar:
            def advance(done: int, _: int) -> None:
                bar.update(done - bar.n)

            position = runner.catch_up(advance) if until is None else runner.catch_up_to(total, advance)
        # What the scheduler's clean-up does, as of the rebuild's time.
        delete_expired(runner.conn, time.time() if until is None else until.timestamp())
        runner.conn.execute("PRAGMA synchronous=FULL")
        runner.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        runner.stop()
        return position
    finally:
        app.close()


def rfc3339(value: str) -> datetime:
    """An RFC 3339 time with a zone (argparse names the flag when it is not one)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def remove_database(path: Path) -> None:
    for suffix in ("-wal", "-shm", ""):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def unsafe_target(target: Path, data_dir: Path) -> str | None:
    """--into replaces its target: never the live files, never a file that is not a read model."""
    if target.resolve() in {(data_dir / name).resolve() for name in ("events.db", "read.db")}:
        return f"--into {target} is a live database of the data dir"
    if not target.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        conn.close()
    except sqlite3.Error:
        names = set()
    if "tracking" not in names or "stored_events" in names:
        return f"--into {target} exists and is not a read model; not replacing it"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=env_default("ASTAPA_DATA_DIR", "var"))
    parser.add_argument("--into", help="write the rebuilt read models here instead")
    parser.add_argument("--until", type=rfc3339, metavar="TIME",
                        help="with --into: the read models as they were at TIME (RFC 3339, with a zone)")
    parser.add_argument("--store", default=env_default("ASTAPA_STORE_URL"),
                        help="a PostgreSQL store (ASTAPA_STORE_URL): rebuild this node's read models from it")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    events_db = data_dir / "events.db"
    if not args.store and not events_db.exists():
        print(f"rebuild: error: no event store at {events_db}", file=sys.stderr)
        return 2
    show = sys.stderr.isatty()
    if args.until is not None and not args.into:
        print("rebuild: error: --until needs --into: the read models of a past time never replace the live ones",
              file=sys.stderr)
        return 2
    try:
        return run(args, data_dir, events_db, show)
    except PersonKeysUnavailable as e:  # a restored log without its person-keys.db, say
        print(f"rebuild: error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, data_dir: Path, events_db: Path, show: bool) -> int:
    if args.into:
        target = Path(args.into)
        refusal = unsafe_target(target, data_dir)
        if refusal:
            print(f"rebuild: error: {refusal}", file=sys.stderr)
            return 2
        remove_database(target)
        rebuild(events_db, target, show, args.store, args.until)
        return 0
    try:
        lock = lock_data_dir(data_dir)  # held until exit: no server starts meanwhile
    except ConfigError as e:
        print(f"rebuild: error: {e}; stop it first, or use --into", file=sys.stderr)
        return 1
    try:
        fresh = data_dir / "read.db.rebuild"
        remove_database(fresh)
        rebuild(events_db, fresh, show, args.store)
        remove_database(data_dir / "read.db")
        os.replace(fresh, data_dir / "read.db")
    finally:
        os.close(lock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
