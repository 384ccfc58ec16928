"""Command line: ``python -m survinng_py demo [--out DIR] [--n N] [--seed S] [--epochs E]``."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the chosen command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name, e.g. ``["demo", "--out", "results"]``.

    Returns
    -------
    int
        Exit status 0; errors exit through :class:`SystemExit` with a one-line message.
    """
    parser = argparse.ArgumentParser(prog="survinng-py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit DeepSurv, CoxTime and DeepHit on simulated data and explain them",
        description="Simulate time-dependent survival data, fit three pycox models on the CPU "
                    "and write their Grad(t)/GxI(t) attributions (parquet) and a figure (PNG).")
    demo.add_argument("--out", default="demo_output", help="output folder (default: %(default)s)")
    demo.add_argument("--n", type=int, default=3000, help="simulated rows (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=30,
                      help="most training epochs per model (default: %(default)s)")
    demo.add_argument("--overwrite", action="store_true", help="replace existing output files")
    args = parser.parse_args(argv)

    from ._validation import SurvinngError
    from .demo import run_demo

    try:
        result = run_demo(args.out, n=args.n, seed=args.seed, epochs=args.epochs,
                          overwrite=args.overwrite)
    except (FileExistsError, SurvinngError) as err:
        parser.exit(1, f"survinng-py demo: error: {err}\n")
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
