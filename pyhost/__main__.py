"""``python -m pyhost`` runs the ``pyhost`` command; :func:`program` is the ``pyhost``
script."""
import os
import signal
import sys


def _interrupted_early(signum, frame) -> None:
    # Ctrl-C while the command's modules are still being imported: nothing is done yet.
    os.write(2, b"pyhost: interrupted\n")
    os._exit(128 + signum)


def program() -> int:
    early = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if early:  # (left alone when ignored, as in a background job)
        signal.signal(signal.SIGINT, _interrupted_early)
    from pyhost.cli.main import main
    if early:  # from here main() turns Ctrl-C into "interrupted"
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return main()


if __name__ == "__main__":
    sys.exit(program())
