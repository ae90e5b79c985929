"""``python -m pyhost`` runs the ``pyhost`` command."""
import sys

from pyhost.cli.main import main

sys.exit(main())
