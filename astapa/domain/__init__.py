"""Aggregates and their events: pure Python, no I/O, only the library and the stdlib."""
