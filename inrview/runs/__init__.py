"""A history of runs: every fit the app makes (and the command line's, with `--history`), kept with its
settings, measures, time, loss curve and outputs in a small SQLite file under the user's data folder.

No Qt and no torch: the command line (`inrview runs`) and the app's Runs dock both read and write it.
"""

from .store import ENV, Run, RunStore, default_root

__all__ = ["ENV", "Run", "RunStore", "default_root"]
