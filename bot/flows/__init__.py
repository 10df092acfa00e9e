"""Flows: YAML-defined conversations, loaded once into frozen models and run by a generic runner."""

from bot.flows.loader import load_flows
from bot.flows.model import Flow, Step, Text
from bot.flows.runner import FlowRunner, Turn

__all__ = ["Flow", "FlowRunner", "Step", "Text", "Turn", "load_flows"]
