"""`python -m external_mysql_operator.faults`."""

from .cli import main

raise SystemExit(main())
