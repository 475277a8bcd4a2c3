"""``python -m passline`` is the ``passline`` command."""

import sys

from passline.cli import main

sys.exit(main())
