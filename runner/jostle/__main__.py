import signal
import sys


def _early_sigterm(_signum, _frame):
    # SIGTERM while the runner is still importing: the same exit as later on (cli.main takes over from here).
    raise KeyboardInterrupt()


signal.signal(signal.SIGTERM, _early_sigterm)
try:
    from jostle.cli import main
except KeyboardInterrupt:
    print("jostle: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
