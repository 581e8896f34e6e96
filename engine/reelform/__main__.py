import sys

from reelform.cli import main

sys.exit(main())
