"""However `storepulse dev` is stopped, it leaves no process and no listening port behind:
otherwise the next `make run` finds its ports taken."""

import signal

from tests.support.eventually import eventually
from tests.support.launcher import DevLauncher

GONE_WITHIN_S = 15


async def test_a_second_sigterm_while_stopping_is_ignored(dev: DevLauncher) -> None:
    """`make run` gets SIGTERM twice (the process group's and make's own), and people press
    Ctrl-C twice: the second one lands while the launcher is stopping its children."""
    ports = dev.listening_ports()
    dev.proc.send_signal(signal.SIGTERM)
    await eventually(
        lambda: len(dev.alive()) < len(dev.family),
        timeout=GONE_WITHIN_S,
        every=0.05,
        what="something stopping",
    )
    dev.proc.send_signal(signal.SIGTERM)

    await dev.all_gone(ports, GONE_WITHIN_S)
    assert dev.proc.wait(1) == 0


async def test_a_sigkilled_launcher_takes_its_children_along(dev: DevLauncher) -> None:
    ports = dev.listening_ports()
    dev.proc.kill()
    dev.proc.wait()

    await dev.all_gone(ports, GONE_WITHIN_S)
