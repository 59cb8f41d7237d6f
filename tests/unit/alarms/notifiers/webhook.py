"""A local HTTP server playing a webhook: answers each POST with the next status of a
script (then 200; 401 when ``authenticate(headers)`` is false) and keeps what it
received."""

import http.server
import json
import threading


class Webhook:
    def __init__(self, statuses=(), redirect=None, authenticate=None):
        self.statuses = list(statuses)
        self.authenticate = authenticate
        self.received = []
        self.redirect = redirect
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                hook.received.append((self.path, dict(self.headers), json.loads(body)))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if hook.authenticate is not None and not hook.authenticate(self.headers):
                    status = 401
                self.send_response(status)
                if hook.redirect:
                    self.send_header('Location', hook.redirect)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
