"""Starts the local Stripe double (the localstripe package) for the demo, the tests and the benchmarks,
so card payments work with no internet. Never used when STRIPE_API_BASE points at real Stripe."""
import socket
import subprocess
import sys
import time


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


def start_local_stripe(port: int, *, from_scratch: bool = True, timeout: float = 20) -> subprocess.Popen:
    """Run localstripe on 127.0.0.1:`port` and wait until it answers."""
    args = [sys.executable, "-m", "localstripe", "--port", str(port)] + (["--from-scratch"] if from_scratch else [])
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(f"localstripe did not start on port {port}")
        time.sleep(0.1)
    return server
