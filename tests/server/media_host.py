#!/usr/bin/env python3
"""A loopback HTTP server for the remote media test. It serves the files of DIR, and:
  /redirect/NAME  302 to /NAME           /loop      302 to itself, forever
  /redirect-ftp   302 to an ftp:// URL   /endless   bytes without end or Content-Length
  /slow/NAME      NAME after 3 seconds
  /hang/NAME      writes DIR/hang.started, answers NAME after 20 seconds, then writes
                  DIR/hang.done
It prints the port it listens on, then serves until it is killed.
  tests/server/media_host.py DIR"""
import functools
import http.server
import os
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/redirect/"):
            self.redirect("/" + self.path[len("/redirect/"):])
        elif self.path == "/redirect-ftp":
            self.redirect("ftp://127.0.0.1/shapes.png")
        elif self.path == "/loop":
            self.redirect("/loop")
        elif self.path == "/endless":
            self.endless()
        elif self.path.startswith("/hang/"):
            self.mark("hang.started")
            time.sleep(20)
            self.path = self.path[len("/hang"):]
            super().do_GET()
            self.mark("hang.done")
        else:
            if self.path.startswith("/slow/"):
                time.sleep(3)
                self.path = self.path[len("/slow"):]
            super().do_GET()

    def mark(self, name):
        open(os.path.join(self.directory, name), "w").close()

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def endless(self):
        # HTTP/1.0 without a Content-Length: the body ends only when the connection does.
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            pass  # the client hung up

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # g4 hanging up is expected


def main():
    handler = functools.partial(Handler, directory=sys.argv[1])
    server = Server(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
