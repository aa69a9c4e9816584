"""The ``cvkit`` command: check a config, run the kit, or make the demo client's data.

Exit codes (:mod:`helpers.errors`): 0 done, 1 a notebook failed, 2 bad config or files,
3 bad data, 4 another run of the same client and date holds the lock, 130/143 stopped by
SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from datetime import date, timedelta
from pathlib import Path

from helpers import __version__
from helpers.config import ConfigError
from helpers.errors import EXIT_BAD_CONFIG, EXIT_DONE
from helpers.runner import RunFailed, check, run, summary
from helpers.warehouse import MANIFEST_FILE

__all__ = ["main", "as_of_date"]


def as_of_date(text: str) -> date:
    """The value of ``--as-of``: ``today``, ``yesterday`` (for cron) or a date YYYY-MM-DD."""
    relative = {"today": 0, "yesterday": 1}
    if text.strip().lower() in relative:
        return date.today() - timedelta(days=relative[text.strip().lower()])
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date: give today, yesterday or YYYY-MM-DD") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cvkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check a config and open every source file, "
                                              "without running anything")
    run = commands.add_parser("run", help="run notebooks 01→05 on a config into a report folder")
    for command in (check, run):
        command.add_argument("config", help="the run's YAML config")
        command.add_argument("--as-of", type=as_of_date, metavar="DATE",
                             help="analysis date: today, yesterday or YYYY-MM-DD "
                                  "(overrides the config)")
    run.add_argument("--out", help="root folder for reports (default: reports/)")
    run.add_argument("--keep", type=_positive, metavar="N",
                     help="after success, keep only the N newest published and N newest "
                          "failed runs of the client (never the one `latest` points to)")
    run.add_argument("--kernel", default="cvkit", help="Jupyter kernel (default: cvkit)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar (there is none anyway when stderr is not a terminal)")

    demo = commands.add_parser("demo-data", help="write the synthetic demo client's files")
    demo.add_argument("--customers", type=int, default=5000, help="people (default 5000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--out", default="data/demo", help="folder (default data/demo)")
    return parser


def _demo_data(args: argparse.Namespace) -> int:
    from helpers.demo_data import generate  # only this command needs the generator

    counts = generate(args.out, customers=args.customers, seed=args.seed)
    for name, rows in counts.items():
        print(f"{rows:>10,}  {Path(args.out) / name}")
    return EXIT_DONE


def _check(args: argparse.Namespace) -> int:
    cfg = check(args.config, args.as_of)
    print(f"ok: {len(cfg.sources)} sources ({', '.join(cfg.sources)}) of {cfg.client} "
          f"as of {cfg.as_of} open and stage a sample; {cfg.config_file}")
    return EXIT_DONE


def _run(args: argparse.Namespace) -> int:
    folder = run(args.config, as_of=args.as_of, out=args.out, kernel_name=args.kernel,
                 progress=not args.no_progress, keep=args.keep)
    done, rejected = summary(json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8")),
                             folder)
    print(done)
    if rejected:
        print(f"cvkit: {rejected}", file=sys.stderr)
    return EXIT_DONE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cvkit`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    command = {"demo-data": _demo_data, "check": _check, "run": _run}[args.command]
    try:
        return command(args)
    except ConfigError as exc:
        print(f"cvkit: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except RunFailed as exc:
        print(f"cvkit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run handles its signals itself)
        print("cvkit: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
