import sys

from jostle.cli import main

sys.exit(main())
