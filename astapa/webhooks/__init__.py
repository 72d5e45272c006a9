"""Webhooks: the follower of the log that schedules deliveries, and the sender that signs
and POSTs them (Standard Webhooks), with retries; both run on the leader process only."""
