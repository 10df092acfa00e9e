"""Sessions: the state of one user's conversation, its store, locking, service and sweeper."""
