"""The one HTTP server base that otel-ai's own servers share (the OTLP receiver, the test simulators)."""

from __future__ import annotations

import socketserver
from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that binds without `HTTPServer.server_bind`'s FQDN lookup.

    That lookup is a DNS query, slow or hanging on a machine without a resolver; the address bound
    is what the server reports as its name instead.
    """

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
