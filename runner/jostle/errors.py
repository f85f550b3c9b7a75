"""The two kinds of error that end a jostle command early, each with its exit code."""

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
# 128 + SIGINT, the shell convention, so that CI and scripts see "interrupted".
EXIT_INTERRUPTED = 130


class JostleError(Exception):
    """An error shown to the user as one line, never as a traceback."""

    exit_code = EXIT_INFRA


class UsageError(JostleError):
    """The command line asks for something that does not exist or cannot be parsed."""

    exit_code = EXIT_USAGE


class InfraError(JostleError):
    """The machine, the build or the store cannot do what was asked."""

    exit_code = EXIT_INFRA
