"""``python -m pyhost`` runs the ``pyhost`` command."""
import sys

from pyhost.cli import main

sys.exit(main())
