"""The two runs of a large report read side by side: the baseline in a helper process.

Reading a run is Python work on one core (parsing rows, folding them into summaries and
payloads): two 100,000-case runs took 13 s one after the other. A helper process
(``python -m passline.report._helper RUN_DIR``) reads the baseline while this process
reads the candidate, and hands back through a pipe what :func:`load_report_side` would
have built (the summaries, the payloads' JSON bytes) and the warnings it logged. If the
helper cannot start, dies or sends nothing usable, the run is read here as it always was
(so a broken record fails with the usual message).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from passline.report._sides import ReportSide, load_report_side

log = logging.getLogger(__name__)

# smaller results files read in well under a second: a helper costs about 0.3 s to start
HELPER_MIN_BYTES = 20_000_000
_MAGIC = b"passline-report-side-1\n"


def load_sides(baseline: Any, candidate: Any) -> tuple[ReportSide, ReportSide]:
    """Both sides of a report: two large run directories side by side, else in turn."""
    helper = _Helper.start(baseline) if _worth_a_helper(baseline, candidate) else None
    try:
        try:
            cand = load_report_side(candidate, "candidate")
        except Exception:
            # the baseline's error, if it has one, comes first (as when read in turn)
            if helper is not None:
                helper.close()
                load_report_side(baseline, "baseline")
            raise
        base = helper.result() if helper is not None else None
    finally:
        if helper is not None:
            helper.close()
    if base is None:
        base = load_report_side(baseline, "baseline")
    return base, cand


def _results_size(source: Any) -> int:
    if isinstance(source, ReportSide) or not isinstance(source, str | os.PathLike) \
            or not Path(source).is_dir():
        return 0
    from passline.errors import RecordError
    from passline.records._read import results_path

    try:
        path = results_path(Path(source))
        size = path.stat().st_size
    except (RecordError, OSError):
        return 0
    return size * 8 if path.suffix in (".gz", ".zst") else size  # about the rows' size


def _worth_a_helper(baseline: Any, candidate: Any) -> bool:
    return (bool(sys.executable) and not getattr(sys, "frozen", False)
            and min(_results_size(baseline), _results_size(candidate)) >= HELPER_MIN_BYTES)


class _Helper:
    def __init__(self, proc: subprocess.Popen[bytes], source: Path) -> None:
        self.proc = proc
        self.source = source

    @classmethod
    def start(cls, source: Any) -> _Helper | None:
        import passline

        env = dict(os.environ)
        # the helper imports this very passline, wherever it was imported from
        here = str(Path(passline.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, env.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "passline.report._helper", str(source)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env=env)
        except OSError as exc:
            log.debug("no helper process to read %s (%s); reading it here", source, exc)
            return None
        return cls(proc, Path(source))

    def result(self) -> ReportSide | None:
        """The side the helper read, or None (then the caller reads it)."""
        stdout = self.proc.stdout
        assert stdout is not None
        try:  # unpickled as it arrives: the answer is never held twice
            data = pickle.load(stdout) if stdout.read(len(_MAGIC)) == _MAGIC else None
        except Exception as exc:  # anything unusable: read the run here instead
            log.debug("the helper's answer for %s is unreadable (%s)", self.source, exc)
            data = None
        if data is None:
            self.close()  # it may still be writing: stop it, do not wait for it
        if data is None or self.proc.wait() != 0:
            log.debug("the helper reading %s failed (exit code %s); reading it here",
                      self.source, self.proc.returncode)
            return None
        for name, level, message in data.pop("logs"):
            logging.getLogger(name).log(level, "%s", message)
        return _side_from(data, self.source)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _side_from(data: dict[str, Any], path: Path) -> ReportSide:
    from passline.compare import CaseSummary

    keys = data["keys"]
    summaries = {key: CaseSummary(key[0], key[1], *rest)
                 for key, rest in zip(keys, data["summaries"], strict=True)}
    return ReportSide("baseline", "run", data["label"], path, data["manifest"], summaries,
                      dict(zip(data["trial_keys"], data["trials"], strict=True)),
                      dict(zip(data["shown_keys"], data["shown"], strict=True)),
                      data["judged"], lenient=data["lenient"])


def _summary_fields() -> tuple[str, ...]:
    """CaseSummary's fields after its key (eval, case_id), in order: what the helper sends
    per case and :func:`_side_from` passes back positionally."""
    import dataclasses

    from passline.compare import CaseSummary

    names = tuple(f.name for f in dataclasses.fields(CaseSummary))
    assert names[:2] == ("eval", "case_id"), names
    return names[2:]


_SUMMARY_FIELDS = _summary_fields()


def _answer(side: ReportSide, logs: list[tuple[str, int, str]]) -> dict[str, Any]:
    """What the helper sends: the side as plain values, keys once, in the side's orders."""
    assert side.trials is not None
    keys = list(side.summaries)
    trial_keys = list(side.trials)
    shown_keys = list(side.shown)
    return {
        "label": side.label, "manifest": side.manifest, "lenient": side.lenient,
        "judged": side.judged, "keys": keys,
        "summaries": [tuple(getattr(s, name) for name in _SUMMARY_FIELDS)
                      for s in side.summaries.values()],
        # the same key objects when the orders agree (they do: first row of each case)
        "trial_keys": keys if trial_keys == keys else trial_keys,
        "trials": list(side.trials.values()),
        "shown_keys": keys if shown_keys == keys else shown_keys,
        "shown": list(side.shown.values()),
        "logs": logs,
    }


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def main(argv: list[str] | None = None) -> int:
    import gc

    gc.disable()  # acyclic trees of dicts: see build_report
    args = sys.argv[1:] if argv is None else argv
    collect = _Collect()
    root = logging.getLogger()
    root.handlers[:] = [collect]
    root.setLevel(logging.DEBUG)
    side = load_report_side(Path(args[0]), "baseline")
    if side.kind != "run":
        return 2
    out = sys.stdout.buffer
    out.write(_MAGIC)
    pickle.dump(_answer(side, collect.records), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
