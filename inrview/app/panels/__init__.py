"""The window's docks: data, model & training, slices, loss, log, compare. Plain widgets; no VTK, no training."""
from .compare import ComparePanel
from .data import DataPanel
from .log import LogPanel
from .loss import LossPanel
from .model import ModelPanel
from .slices import SlicesPanel

__all__ = ["ComparePanel", "DataPanel", "LogPanel", "LossPanel", "ModelPanel", "SlicesPanel"]
