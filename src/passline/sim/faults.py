"""Fault injection for the simulator: which request fails, and how.

A fault spec is a comma-separated list of ``KIND[=RATE|#COUNT]`` items:

* ``503=0.2``  -- about 20% of attempts get a 503 (decided by a hash, so it is reproducible);
* ``429#2``    -- the first 2 attempts fail with 429 (per server; or, when given in the
  ``X-Sim-Faults`` request header, per distinct request body -- so a retried request
  succeeds on its third attempt, which is what retry tests need);
* ``hang``     -- same as ``hang=1``: every attempt.

Kinds: ``429`` (rate limited, with Retry-After), ``500``, ``503``, ``slow`` (extra latency),
``malformed`` (tool-call arguments / JSON content that does not parse), ``truncated``
(output cut short, ``finish_reason="length"``), ``hang`` (no response until the client gives up).
"""

from __future__ import annotations

import dataclasses
import hashlib

from passline.errors import ConfigError

KINDS = ("429", "500", "503", "slow", "malformed", "truncated", "hang")
# the order faults are considered in: a request that hangs never gets as far as a 429
ERROR_KINDS = ("429", "500", "503")


@dataclasses.dataclass(frozen=True)
class Fault:
    kind: str
    rate: float = 1.0  # probability per attempt, when count is None
    count: int | None = None  # fail exactly the first N attempts

    def __str__(self) -> str:
        if self.count is not None:
            return f"{self.kind}#{self.count}"
        return self.kind if self.rate == 1.0 else f"{self.kind}={self.rate:g}"


@dataclasses.dataclass(frozen=True)
class FaultSpec:
    faults: tuple[Fault, ...] = ()

    @classmethod
    def parse(cls, spec: str | None, *, where: str = "fault spec") -> FaultSpec:
        """Parse ``"503=0.2,429#2,slow"``; an empty spec means no faults.

        >>> str(FaultSpec.parse("503=0.2, 429#2"))
        '503=0.2,429#2'
        """
        faults: list[Fault] = []
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            kind, rate, count = item, 1.0, None
            try:
                if "#" in item:
                    kind, _, n = item.partition("#")
                    count = int(n)
                    if count < 0:
                        raise ValueError("count must be >= 0")
                elif "=" in item:
                    kind, _, r = item.partition("=")
                    rate = float(r)
                    if not 0.0 <= rate <= 1.0:
                        raise ValueError("rate must be within 0..1")
            except ValueError as exc:
                raise ConfigError(
                    f"{where}: bad item {item!r} ({exc}); write KIND, KIND=RATE (0..1) or "
                    f"KIND#COUNT, e.g. '503=0.1,429#2'"
                ) from exc
            kind = kind.strip().lower()
            if kind not in KINDS:
                raise ConfigError(
                    f"{where}: unknown fault kind {kind!r} in {item!r}; known kinds: "
                    f"{', '.join(KINDS)}"
                )
            faults.append(Fault(kind, rate, count))
        return cls(tuple(faults))

    def __str__(self) -> str:
        return ",".join(str(f) for f in self.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def triggered(self, *, key: str, attempt: int) -> set[str]:
        """Kinds that fire for the ``attempt``-th (0-based) attempt of request ``key``."""
        fired: set[str] = set()
        for fault in self.faults:
            if fault.count is not None:
                if attempt < fault.count:
                    fired.add(fault.kind)
            elif fault.rate >= 1.0 or _unit(f"{fault.kind}|{key}|{attempt}") < fault.rate:
                fired.add(fault.kind)
        return fired


def _unit(text: str) -> float:
    """A reproducible number in [0, 1) from ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
