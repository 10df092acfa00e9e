"""Flows: YAML-defined conversations, loaded once into frozen models and run by a generic runner.

See docs/flows.md for the language; :func:`load_flows` validates it (every problem at
``file:line:column``) and :class:`FlowRunner` runs it.
"""

from bot.flows.loader import load_flows
from bot.flows.model import Flow, Step, Text
from bot.flows.problems import InvalidFlows
from bot.flows.runner import FlowRunner
from bot.flows.turn import Reply, Turn

__all__ = ["Flow", "FlowRunner", "InvalidFlows", "Reply", "Step", "Text", "Turn", "load_flows"]
