"""However `storepulse dev` is stopped, it leaves no process and no listening port behind:
otherwise the next `make run` finds its ports taken."""

import signal

from tests.dev_launcher import DevLauncher, wait_until

GONE_WITHIN_S = 15


def test_a_second_sigterm_while_stopping_is_ignored(dev: DevLauncher) -> None:
    """`make run` gets SIGTERM twice (the process group's and make's own), and people press
    Ctrl-C twice: the second one lands while the launcher is stopping its children."""
    ports = dev.listening_ports()
    dev.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: len(dev.alive()) < len(dev.family), GONE_WITHIN_S), "nothing began to stop"
    dev.proc.send_signal(signal.SIGTERM)

    processes, listening = dev.leftovers(ports, GONE_WITHIN_S)
    assert not processes and not listening, f"left behind: {processes}, listening on {listening}"
    assert dev.proc.wait(1) == 0


def test_a_sigkilled_launcher_takes_its_children_along(dev: DevLauncher) -> None:
    ports = dev.listening_ports()
    dev.proc.kill()
    dev.proc.wait()

    processes, listening = dev.leftovers(ports, GONE_WITHIN_S)
    assert not processes and not listening, f"left behind: {processes}, listening on {listening}"
