"""`python -m losskit` runs the `losskit` command."""

from losskit.cli import main

raise SystemExit(main())
