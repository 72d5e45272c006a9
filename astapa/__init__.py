"""Astapa: a self-hostable, event-sourced authentication backend."""

__version__ = "0.1.0"
