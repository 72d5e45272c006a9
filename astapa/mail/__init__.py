"""Mail: composing messages, the transports that carry them, and the mailer that delivers
queued messages and records each outcome as an event."""
