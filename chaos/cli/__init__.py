"""The ``chaos`` command (``chaos.cli:main``): the root group and its command groups, one module each."""

from chaos.cli import capacity, clients, images, load, monitoring, runs, suite, topology  # noqa: F401  (each adds its commands to the root)
from chaos.cli.root import cli, main, say

__all__ = ["cli", "main", "say"]
