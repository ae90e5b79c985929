"""``python -m pyhost.cli``: the same as the ``pyhost`` command."""
import sys

from pyhost.cli.main import main

sys.exit(main())
