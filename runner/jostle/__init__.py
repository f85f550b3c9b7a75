"""jostle runner: discover harness instances, run them in isolated processes, classify and store the results."""

__version__ = "0.1.0"
