"""The harness's own trouble, as exceptions with exit codes.

Problems of the system under test are data (failed checks, ``info`` ops), never exceptions.
The CLI catches :class:`ChaosError` once and prints its message on one line.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class ChaosError(Exception):
    """Bad input or a broken environment: one line for the user, exit code 2."""

    exit_code = EXIT_BAD_INPUT


class MissingBinary(ChaosError):
    """A server binary (redis-server, mariadbd, ...) is not installed."""


class PortInUse(ChaosError):
    """A port the topology needs is taken by another process."""


class AlreadyUp(ChaosError):
    """A topology of this kind is already running in the state directory."""


class StateDirError(ChaosError):
    """The state directory cannot be created or written."""


class NotUp(ChaosError):
    """A command needs a running topology and there is none."""


class TopologyError(ChaosError):
    """The topology did not reach the expected state (cluster never formed, ...)."""


class RunCrashed(ChaosError):
    """A run died on an unexpected exception: faults healed, partial result written, exit 1."""

    exit_code = EXIT_CHECK_FAILED
