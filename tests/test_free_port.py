"""The Flower preview's ports (simulate/processes.free_port) are taken below the kernel's ephemeral
range: a port from bind(0) is released before the Flower process binds it, and in that gap any
outgoing connection on the machine may take it as its local port."""

from __future__ import annotations

import socket

from fedfleet.simulate.processes import ephemeral_range, free_port


def test_free_ports_come_from_below_the_ephemeral_range_and_are_free() -> None:
    low, _high = ephemeral_range()
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) > 1
    for port in ports:
        if low - 12000 >= 1024:  # else free_port falls back to bind(0)
            assert low - 12000 <= port < low
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))  # nothing holds it


def test_a_port_in_use_is_never_returned() -> None:
    """Hold many candidates: free_port keeps drawing until it finds one that binds."""
    held = []
    try:
        for _ in range(50):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", free_port()))
            s.listen()
            held.append(s)
        taken = {s.getsockname()[1] for s in held}
        assert len(taken) == 50
        assert all(free_port() not in taken for _ in range(50))
    finally:
        for s in held:
            s.close()
