"""Dogfood evals: passline evaluating its own reference agents (agents/).

The agent under test and the model/prompt defaults come from ``[tool.passline]`` in the
repository's pyproject.toml; run ``pytest evals/`` (optionally with ``--passline-variant``).
"""
