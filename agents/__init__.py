"""Reference agents for passline: an ops assistant for Larkspur Supply Co.

``agents.world`` is the company's deterministic SQLite world and policy corpus,
``agents.tools`` the tools the workers call on it, ``agents.memory`` the persisted
episodic/semantic/procedural memory. The orchestrator and workers build on these.
"""
