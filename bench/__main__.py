"""``python -m bench run [--quick] [--out DIR] [--only SCENARIO…] [--profile SECONDS] [--keep-db]``,
``python -m bench report DIR`` (re-render a run's report and plots), ``python -m bench check``.
"""
import argparse
import json
import os
import sys
from datetime import datetime

from .config import FULL, QUICK
from .run import SCENARIOS


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="start the services, run the scenarios, write results, report and plots")
    run_p.add_argument("--quick", action="store_true", help="smaller sizes, about 6 minutes on a quiet machine")
    run_p.add_argument("--out", help="output directory (default bench/results/<timestamp>-<mode>)")
    run_p.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    run_p.add_argument("--profile", type=int, default=0, metavar="SECONDS",
                       help="record the app with py-spy for up to SECONDS in each scenario (perturbs the figures)")
    run_p.add_argument("--keep-db", action="store_true", help="leave the run's database behind")
    run_p.add_argument("--wait-quiet", type=int, default=300, metavar="SECONDS",
                       help="wait up to SECONDS for other processes to quieten down before measuring")
    run_p.add_argument("--max-other-cpu", type=float, default=30.0, metavar="PERCENT",
                       help="other processes' CPU (%% of a core) that counts as a quiet machine")
    run_p.add_argument("--stream-workers", type=int, default=2, help="load-generator processes holding streams")
    report_p = sub.add_parser("report", help="re-render report.md and the plots of a run directory")
    report_p.add_argument("directory")
    sub.add_parser("check", help="check the machine's limits and tools for a full run")
    args = parser.parse_args(argv)

    if args.command == "check":
        from . import system
        facts, problems, notes = system.check(FULL.idle_steps[-1])
        print(json.dumps({"machine": system.machine(), "limits": facts}, indent=2))
        for line in notes:
            print("note:", line)
        for line in problems:
            print("problem:", line)
        return 1 if problems else 0
    if args.command == "report":
        from . import report
        with open(os.path.join(args.directory, "results.json")) as f:
            report.write(args.directory, json.load(f))
        print(os.path.join(args.directory, "report.md"))
        return 0
    from .run import Run
    sizes = QUICK if args.quick else FULL
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + sizes.name)
    Run(sizes, out, only=args.only, keep_db=args.keep_db, profile_seconds=args.profile,
        stream_workers=args.stream_workers, wait_quiet=args.wait_quiet, max_other_cpu=args.max_other_cpu).execute()
    return 0


if __name__ == "__main__":
    sys.exit(main())
