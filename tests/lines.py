"""Reading a child's output with a real deadline: ``for line in proc.stderr`` checks its deadline
only after a line arrives, so a silent child hangs the suite."""

import os
import select
import time


def read_until(stream, needle: str, timeout: float) -> str:
    """Everything ``stream`` (a pipe of a child process) printed until a line holding ``needle``
    was complete, the stream ended, or ``timeout`` seconds passed, whichever came first."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break  # the child closed it (ended)
        data += chunk
        complete = data[: data.rfind(b"\n") + 1].decode(errors="replace")
        if needle in complete:
            break
    return data.decode(errors="replace")
