"""`serve --workers N`: the workers' connections have Nagle's algorithm off (TCP_NODELAY).

uvicorn's supervisor binds the listening socket and hands it to its spawned workers through
multiprocessing, which rebuilds it with the ``proto`` it had: 0 from uvicorn 0.54's
``Config.bind_socket``. asyncio sets TCP_NODELAY on an accepted connection only when its socket
says ``IPPROTO_TCP``, so every request after the first on a kept-alive connection waited for the
client's delayed ACK (44 ms for the health check, with 2 workers; uvicorn issue #3149).
``contract_archive.cli.admin.tcp_listener`` marks the listener as TCP. These tests hand a
listener to a spawned process exactly as the supervisor does and ask the worker's event loop
whether the connection it accepted has TCP_NODELAY; the control shows the defect is still in
the pinned uvicorn (when it is fixed upstream, the control fails and the wrapper can go)."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from multiprocessing.connection import Connection

import uvicorn

from contract_archive.cli.admin import tcp_listener


def _worker(sock: socket.socket, report: Connection) -> None:
    """A worker's event loop on the handed-down listener: reports TCP_NODELAY of the first
    connection it accepts (what uvicorn's server does with ``sockets=``)."""

    async def main() -> None:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            if not accepted.done():
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        report.send("listening")
        report.send(await asyncio.wait_for(accepted, 30))
        server.close()

    asyncio.run(main())


def _nodelay_in_worker(listener: socket.socket) -> int:
    ctx = multiprocessing.get_context("spawn")  # uvicorn's supervisor spawns its workers
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_worker, args=(listener, theirs))
    proc.start()
    try:
        assert ours.poll(60), "the worker did not start"
        assert ours.recv() == "listening"
        with socket.create_connection(listener.getsockname()[:2], timeout=10):
            assert ours.poll(30), "the worker accepted no connection"
            return int(ours.recv())
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
        listener.close()


def _bound() -> socket.socket:
    sock = uvicorn.Config("search_api.app:create_app", host="127.0.0.1", port=0).bind_socket()
    sock.listen(8)  # the supervisor's workers listen on it (asyncio's create_server does)
    return sock


def test_a_workers_connection_has_tcp_nodelay() -> None:
    listener = tcp_listener(_bound())
    assert listener.proto == socket.IPPROTO_TCP
    assert _nodelay_in_worker(listener) != 0


def test_control_uvicorns_own_listener_loses_tcp_nodelay() -> None:
    listener = _bound()
    assert listener.proto == 0, "uvicorn now binds as TCP: tcp_listener can go"
    assert _nodelay_in_worker(listener) == 0
