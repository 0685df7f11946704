"""``python -m app``: the same as the ``flowscope`` command."""

import sys

from app.cli import main

# guarded: a spawned training process imports this module again and must not start the CLI
if __name__ == "__main__":
    sys.exit(main())
