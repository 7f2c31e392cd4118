"""A tiny SMTP server for tests: a real socket speaking enough SMTP for smtplib, keeping the
messages it receives. No TLS, no authentication."""

from __future__ import annotations

import email
import socket
import threading
from email.policy import default
from typing import Any


class SmtpSink:
    def __init__(self, port: int = 0) -> None:
        """``port``: a port chosen before (a server configured with it while nothing
        listened); 0 for any free port."""
        self.messages: list[dict[str, Any]] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(4)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                self._session(conn.makefile("rb"), conn)

    def _session(self, reader: Any, conn: socket.socket) -> None:
        def send(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        send("220 sink ready")
        rcpt: list[str] = []
        while True:
            line = reader.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                send("250 sink")
            elif verb == "MAIL":
                rcpt = []
                send("250 ok")
            elif verb == "RCPT":
                rcpt.append(cmd.split(":", 1)[1].strip(" <>"))
                send("250 ok")
            elif verb == "DATA":
                send("354 go on")
                data = b""
                while True:
                    chunk = reader.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                msg = email.message_from_bytes(data, policy=default)
                body = msg.get_body(preferencelist=("plain",))
                self.messages.append(
                    {
                        "to": rcpt,
                        "subject": str(msg["Subject"]),
                        "body": body.get_content() if body is not None else "",
                    }
                )
                send("250 queued")
            elif verb == "QUIT":
                send("221 bye")
                return
            else:
                send("250 ok")
