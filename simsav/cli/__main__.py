"""``python -m simsav.cli`` runs the command line."""

import sys

from simsav.cli import main

sys.exit(main())
