"""The HTTP side: the aiohttp application, channel webhooks and the admin API."""
