import subprocess
import sys
import time

from tests.lines import read_until


def test_a_silent_child_does_not_hang_the_reader():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], stderr=subprocess.PIPE)
    try:
        started = time.monotonic()
        assert read_until(proc.stderr, "never", timeout=0.5) == ""
        assert time.monotonic() - started < 5
    finally:
        proc.kill()
        proc.wait()


def test_the_reader_stops_at_the_line_that_holds_the_needle_and_at_the_end():
    script = "import sys, time; print('one'); print('killed redis-2', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert read_until(proc.stdout, "killed", timeout=20) == "one\nkilled redis-2\n"
    finally:
        proc.kill()
        proc.wait()
    done = subprocess.Popen([sys.executable, "-c", "print('bye')"], stdout=subprocess.PIPE)
    assert read_until(done.stdout, "never", timeout=20) == "bye\n"
    done.wait()
