"""Payments through Xendit: its wire format, the credentials per project, and the jobs that
settle, expire and reconcile payments."""
