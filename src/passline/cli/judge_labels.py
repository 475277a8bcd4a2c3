"""``passline judge labels add FILE``: merge review marks from a report into a new version of
a calibration set, recording who labelled and when."""

from __future__ import annotations

import argparse
import json

from passline.cli._output import add_output_flags, examples


def register_labels(jsub: argparse._SubParsersAction) -> None:
    p = jsub.add_parser("labels", help="calibration labels from report review marks",
                        **examples("passline judge labels add judge-marks.json --labeller "
                                   "'Ana Lopez' --kind human"))
    lsub = p.add_subparsers(dest="labels_command", metavar="ACTION", required=True)
    a = lsub.add_parser(
        "add", help="merge review marks (judge-marks.json) into a new calibration set version",
        description="Each mark that carries a label becomes a calibration row with its "
        "provenance (expected.x_label_source: kind, labeller, date, protocol). Then run "
        "`passline judge calibrate RUBRIC --dataset NAME@vN` to measure the judge against it.",
        **examples("passline judge labels add judge-marks.json --labeller 'Ana Lopez' "
                   "--kind human",
                   "passline judge labels add marks.json --labeller 'Ana Lopez' --kind human "
                   "--dataset my-calibration --run-dir reports/runs"))
    a.add_argument("file", metavar="FILE", help="the marks file downloaded from a report")
    a.add_argument("--labeller", required=True, metavar="NAME",
                   help="who made the labels (required; recorded in every row)")
    a.add_argument("--kind", required=True, choices=("human", "reference", "model"),
                   help="how they were made: human only when a person labelled")
    a.add_argument("--dataset", default="judge-calibration",
                   help="the calibration set to extend (default judge-calibration)")
    a.add_argument("--rubric", default=None, help="rubric of marks that name none")
    a.add_argument("--run-dir", default=None, metavar="DIR",
                   help="where the reviewed runs are recorded, to read each answer's context "
                        "(default: run_dir of the settings)")
    a.add_argument("--root", default=None, help="project root holding golden/")
    add_output_flags(a)
    a.set_defaults(func=run_add)


def run_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from passline.judge._marks import add_labels, read_marks
    from passline.settings import Settings

    root = Path(args.root) if args.root else Path.cwd()
    runs = args.run_dir or Settings.resolve(root=root).run_dir
    result = add_labels(read_marks(args.file), labeller=args.labeller, kind=args.kind,
                        dataset=args.dataset, rubric=args.rubric,
                        runs_dir=runs if Path(runs).is_absolute() else root / runs, root=root)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"added {len(result.added)} label(s) by {args.labeller} ({args.kind}) as "
          f"{result.dataset} ({result.path})")
    for note in result.skipped:
        print(f"  skipped: {note}")
    print("next:")
    print("  passline golden lock")
    print(f"  passline judge calibrate RUBRIC --dataset {result.dataset}")
    return 0
