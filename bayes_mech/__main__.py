"""``python -m bayes_mech`` runs the command-line interface."""

from bayes_mech.cli import main

raise SystemExit(main())
