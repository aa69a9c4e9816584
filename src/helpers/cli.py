"""The ``cvkit`` command: run the kit, or make the demo client's data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.config import ConfigError
from helpers.errors import EXIT_BAD_CONFIG, EXIT_RUN_FAILED

__all__ = ["main"]



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run notebooks 01→05 on a config into a report folder")
    run.add_argument("config", help="the run's YAML config")
    run.add_argument("--as-of", help="analysis date YYYY-MM-DD (overrides the config)")
    run.add_argument("--out", help="root folder for reports (default: reports/)")
    run.add_argument("--kernel", default="cvkit", help="Jupyter kernel (default: cvkit)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (cron)")

    demo = commands.add_parser("demo-data", help="write the synthetic demo client's files")
    demo.add_argument("--customers", type=int, default=5000, help="people (default 5000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--out", default="data/demo", help="folder (default data/demo)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cvkit`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    # Each command imports only what it needs: `demo-data` should not pay for Papermill.
    if args.command == "demo-data":
        from helpers.demo_data import generate

        counts = generate(args.out, customers=args.customers, seed=args.seed)
        for name, rows in counts.items():
            print(f"{rows:>10,}  {Path(args.out) / name}")
        return 0

    from helpers.runner import RunFailed, run

    try:
        report_dir = run(args.config, as_of=args.as_of, out=args.out, kernel_name=args.kernel,
                         progress=not args.no_progress)
    except ConfigError as exc:
        print(f"cvkit: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except RunFailed as exc:
        print(f"cvkit: run failed: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    print(report_dir / "report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
