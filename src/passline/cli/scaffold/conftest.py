"""Evals for this project, run with ``pytest evals/`` (see ``[tool.passline]``)."""
