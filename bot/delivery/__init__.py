"""Outbound delivery: the durable outbox and its sender task.

- :mod:`bot.delivery.outbox`: :class:`~bot.delivery.outbox.Outbox` sends the outbound messages
  stored as ``pending``, one user's in order, and records each result.
- :mod:`bot.delivery.lanes`: the users waiting to send, one lane per business number.
- :mod:`bot.delivery.attempt`: one attempt to send one message, and what its result becomes.
- :mod:`bot.delivery.window`: the 24-hour window and the template sent outside it.
- :mod:`bot.delivery.interrupted`: sends a dead process left in flight, held for their status.
- :mod:`bot.delivery.results`: a send's result stored, tried again while the store fails.
- :mod:`bot.delivery.pacing`: an even pace per business number, replies before bulk notices.
- :mod:`bot.delivery.retry`: when to try a failed send again (exponential backoff, jitter).
- :mod:`bot.delivery.errors`: which provider errors are retried, and how.

Nothing is imported here, so the store modules can import :mod:`bot.delivery.pacing` without
a cycle.
"""
