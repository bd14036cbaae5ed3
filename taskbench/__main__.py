import sys

from taskbench.cli import main

sys.exit(main())
