"""`python -m kubespan` runs the same entry point as the `kubespan` command."""

from kubespan.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
