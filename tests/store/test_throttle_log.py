"""The throttle logs, SQLite and PostgreSQL: the same behaviour from both."""

import sqlite3
import stat
import threading

import pytest

from astapa.store.throttle_log import SqliteThrottleLog


@pytest.fixture(params=["sqlite", "postgresql"])
def open_log(request, tmp_path):
    """Logs on one shared store (one SQLite file, or one database), each closed afterwards."""
    if request.param == "sqlite":
        def open_():
            return SqliteThrottleLog(tmp_path / "throttle.db")
    else:
        from astapa.store.postgres import PostgresThrottleLog

        url = request.getfixturevalue("pg_url")

        def open_():
            return PostgresThrottleLog(url)
    opened = []

    def open_tracked():
        opened.append(open_())
        return opened[-1]

    yield open_tracked
    for log in opened:
        log.close()


def test_each_origin_reads_the_others_hits_in_order(open_log):
    node_a, node_b = open_log(), open_log()  # two processes (or nodes) sharing the store
    assert node_b.latest_id() == 0 and node_b.after(0, "b") == []
    node_a.append([("login", "ip:1", 10.0, "a"), ("login", "ip:2", 11.0, "a")])
    node_b.append([("reset", "user:1", 12.0, "b")])
    node_a.append([])

    seen_by_b = node_b.after(0, "b")
    assert [hit[1:] for hit in seen_by_b] == [("login", "ip:1", 10.0), ("login", "ip:2", 11.0)]
    assert [hit[1:] for hit in node_a.after(0, "a")] == [("reset", "user:1", 12.0)]
    assert seen_by_b[0][0] < seen_by_b[1][0] < node_b.latest_id()
    assert node_b.after(seen_by_b[-1][0], "b") == []
    node_a.append([("login", "ip:3", 13.0, "a")])
    assert [hit[2] for hit in node_b.after(seen_by_b[-1][0], "b")] == ["ip:3"]


def test_prune_forgets_old_hits_and_never_gives_their_ids_again(open_log):
    log, reader = open_log(), open_log()
    log.append([("login", f"ip:{i}", float(i), "a") for i in range(5)])
    latest = log.latest_id()
    log.prune(before=3.0)
    assert [hit[3] for hit in reader.after(0, "b")] == [3.0, 4.0]
    log.prune(before=100.0)
    assert reader.after(0, "b") == []
    log.append([("login", "ip:new", 200.0, "a")])
    assert [hit[0] > latest for hit in reader.after(0, "b")] == [True]


def test_appends_from_many_threads_all_arrive(open_log):
    writers, reader = [open_log() for _ in range(3)], open_log()

    def append(log, index: int) -> None:
        for n in range(10):
            log.append([("login", f"{index}:{n}", float(n), f"w{index}")])

    threads = [threading.Thread(target=append, args=(log, i)) for i, log in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    hits = reader.after(0, "reader")
    assert len(hits) == 30 and len({hit[2] for hit in hits}) == 30
    assert [hit[0] for hit in hits] == sorted(hit[0] for hit in hits)


def test_the_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "throttle.db"
    log = SqliteThrottleLog(path)
    try:
        log.append([("login", "ip", 1.0, "a")])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "throttle.db-wal").stat().st_mode) == 0o600
        with sqlite3.connect(path) as other:  # WAL is the file's own mode: any connection sees it
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        log.close()
