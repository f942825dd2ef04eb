"""The fault tests' servers choose a free port, then bind it later: anything may take it in between (an outgoing
connection's source port, another test's server). A server that cannot bind moves to a new port instead of
failing the test that needed it; CI once lost a run to Sentinels that never saw each other."""

from __future__ import annotations

import socket

import redis

from tests.support.servers import RedisProcess, SentinelSetup


def _occupied(port: int) -> socket.socket:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen(1)
    return holder


def test_a_redis_whose_port_was_taken_starts_on_another(tmp_path):
    server = RedisProcess(tmp_path / "r")
    taken = server.port
    with _occupied(taken):
        server.start()
        try:
            assert server.port != taken
            assert redis.Redis(port=server.port).ping()
        finally:
            server.stop()


def test_sentinels_whose_port_was_taken_start_on_others_and_see_each_other(tmp_path):
    setup = SentinelSetup(tmp_path / "s")
    taken = setup.sentinel_ports[1]
    with _occupied(taken):
        setup.start()
        try:
            assert taken not in setup.sentinel_ports
            assert f"127.0.0.1:{setup.sentinel_ports[1]}" in setup.addresses
        finally:
            setup.stop()
