"""Webhooks for apps: subscriptions, signed deliveries, retries, order, restarts."""
