"""The event store (eventsourcing on SQLite), the one writer thread with group commit, and
the per-project secrets kept on disk beside the store, never in events."""
