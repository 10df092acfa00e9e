"""Typed application state (``web.AppKey``) shared by the handlers."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from bot.tasks import TaskSet
from bot.wiring import Runtime

SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
TASKS = web.AppKey("tasks", TaskSet)
