"""Starts the local Stripe double (the localstripe package) for the demo, the tests and the benchmarks,
so card payments work with no internet. Never used when STRIPE_API_BASE points at real Stripe.

localstripe on its own rewrites its whole store to one shared file, /tmp/localstripe.pickle, on every write:
each call gets slower as the store grows, and every double on the machine (the test run's, the demo's, a
benchmark's) reads and overwrites the others' state. Started from here it keeps its state in memory, and
writes it to its own `state` file (if given) at most every few seconds and when it stops.
"""
import argparse
import asyncio
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

SAVE_EVERY_SECONDS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def start_local_stripe(port: int, *, state: Path | None = None, timeout: float = 20,
                       log: Path | None = None) -> subprocess.Popen:
    """Run localstripe on 127.0.0.1:`port` and wait until it answers. With `state` it starts from that file
    (if there is one) and keeps it; without, it starts empty and forgets everything when it stops."""
    args = [sys.executable, "-m", "orders.stripe_double", "--port", str(port)]
    if state is not None:
        args += ["--state", str(state)]
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115  the child keeps it
    server = subprocess.Popen(args, stdout=output, stderr=output, cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(f"localstripe did not start on port {port}")
        time.sleep(0.1)
    return server


def _serve(port: int, state: Path | None) -> None:
    from aiohttp import web
    from localstripe import resources, server

    store, dirty = resources.store, [False]

    def save() -> None:
        if state is not None and dirty[0]:
            dirty[0] = False
            partial = state.with_suffix(".partial")
            with open(partial, "wb") as f:
                pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
            partial.replace(state)

    resources.Store.dump_to_disk = lambda self: dirty.__setitem__(0, True)
    if state is not None and state.exists():
        with open(state, "rb") as f:
            dict.update(store, pickle.load(f))

    async def saving(app):
        async def every_few_seconds():
            while True:
                await asyncio.sleep(SAVE_EVERY_SECONDS)
                save()
        task = asyncio.ensure_future(every_few_seconds())
        yield
        task.cancel()
        save()

    server.app.cleanup_ctx.append(saving)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", port))
    web.run_app(server.app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="localstripe, its state in memory (and in --state, if given)")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, default=None)
    options = parser.parse_args()
    _serve(options.port, options.state)
