"""``python -m app``: the same as the ``flowscope`` command."""

import sys

from app.cli import main

sys.exit(main())
