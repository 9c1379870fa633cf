"""`python -m inrview`: the command line."""

from .cli import entry

entry()
