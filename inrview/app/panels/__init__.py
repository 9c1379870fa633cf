"""The window's docks: data, model & training, slices, loss, log. Plain widgets; no VTK, no training."""
from .data import DataPanel
from .log import LogPanel
from .loss import LossPanel
from .model import ModelPanel
from .slices import SlicesPanel

__all__ = ["DataPanel", "LogPanel", "LossPanel", "ModelPanel", "SlicesPanel"]
