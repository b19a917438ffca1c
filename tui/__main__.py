"""`python -m tui` runs imagedeck, exactly like the `imagedeck` console script."""

import sys

from tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
