"""`python -m bench` (what `make bench` runs): see bench/run.py; `python -m bench --help`."""

from __future__ import annotations

from bench.run import main

raise SystemExit(main())
