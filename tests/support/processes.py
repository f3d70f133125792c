"""Processes and clean-up for tests, the demo and benchmarks.

``Cleanup``: an ExitStack whose steps never raise (each failure is reported, the next step runs).
``run_group``: run a command in its own process group and end the whole group (forks too) when
the caller is interrupted. ``raise_on_signals``: SIGTERM/SIGHUP become KeyboardInterrupt, so
``with Cleanup()`` blocks unwind on them as on Ctrl-C.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time


class Cleanup(contextlib.ExitStack):
    """Clean-up steps run last-in first-out; a step that fails is reported and the others still run."""

    def __init__(self, report=None):
        super().__init__()
        self.report = report or (lambda text: print(text, file=sys.stderr, flush=True))

    def add(self, what, func, *args, **kwargs):
        def safe():
            try:
                func(*args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                self.report('clean-up of %s failed: %s' % (what, exc))
        self.callback(safe)


def end_group(proc, grace=10.0):
    """SIGTERM the process group of ``proc`` (a Popen started with a session of its own), SIGKILL
    what is left of it after ``grace`` seconds; returns when the group is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reaps the leader; the group is gone when no member is left
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_group(cmd, timeout=None, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True)`` in a process group of its own.

    On any interruption (KeyboardInterrupt, a timeout, another exception) the whole group is
    ended before the exception goes on, so no worker outlives the caller's clean-up.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # pylint: disable=consider-using-with
                            start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        end_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt('signal %d' % signum)


def raise_on_signals(signals=(signal.SIGTERM, signal.SIGHUP)):
    """Turn these signals into KeyboardInterrupt in the main thread (clean-up runs as on Ctrl-C)."""
    for signum in signals:
        signal.signal(signum, _raise_interrupt)
