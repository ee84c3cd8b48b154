"""Command-line interface: ``recsys --help``."""
