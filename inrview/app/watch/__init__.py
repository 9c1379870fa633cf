"""Watching the network learn: the time-lapse, the training samples, error colours, probing and the best
checkpoint.

``controller`` (the window's side: actions, recording, probes), ``draw`` (what goes into the viewport). The
shape worker computes what they show (shape/inspect.py).
"""
