"""Writes of the notifications app: channels, rules, the outbox, delivery."""
