"""`python -m testbed.faults`."""

from .cli import main

raise SystemExit(main())
