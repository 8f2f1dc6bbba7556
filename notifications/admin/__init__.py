"""The notifications admin: channels, rules, job settings, deliveries.

Channels take their secrets write-only (password boxes never filled from the
stored values; the page says which are set); saving goes through
`services.channels.channel_save` (encryption, validation, audit). "Send test
notification" queues a test message the worker delivers. Rules go through
`services.rules`; who may edit what is `notifications.permissions`, as in the
API. Deliveries and their attempts are read-only records.

`channels` holds the channel admin and its form, `rules` the rule admin,
`job_states` the per-job mute and circuit breaker, `deliveries` the outbox
and its attempts; `client` the request helper they share.
"""

from notifications.admin import channels, deliveries, job_states, rules

__all__ = ["channels", "deliveries", "job_states", "rules"]
