"""The Runs dock: the history of runs (inrview.runs) in the app: every fit recorded, and any run reopened,
continued, or compared with another (surfaces overlaid in the view, loss curves on one plot)."""
