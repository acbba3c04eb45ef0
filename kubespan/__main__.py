"""`python -m kubespan` runs the same entry point as the `kubespan` command."""

from kubespan.cli.main import main

raise SystemExit(main())
