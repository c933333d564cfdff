#!/usr/bin/env python3
# fanout.py - many watch streams multiplexed on a few HTTP/2 connections
# all receive one event; run by tests/integration/test_h2_abuse.c.
#
#   fanout.py --port P --ca BUNDLE.pem --token-file ADMIN.token
#             [--connections 10] [--streams 100] [--timeout 30]
#
# Opens CONNECTIONS TLS connections (ALPN h2) to nsregd's h2 listener,
# STREAMS watch streams on each (GET /v1/endpoints?watch=true), waits
# for every stream's first BOOKMARK, registers one endpoint with a
# unique name on another connection, and passes (exit 0) when every
# stream then delivers that endpoint's ADDED event within TIMEOUT
# seconds and no stream was reset or ended.  Prints the slowest delivery
# and a line per failure otherwise (exit 1).  The client is python3-h2
# (not nsreg's code), acknowledging data as it reads it.
import argparse
import json
import select
import socket
import ssl
import sys
import time
import uuid

import h2.config
import h2.connection
import h2.events


class Conn:
    """One h2 connection carrying many watch streams."""

    def __init__(self, args):
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = ssl.create_default_context(cafile=args.ca)
        ctx.set_alpn_protocols(["h2"])
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        if self.sock.selected_alpn_protocol() != "h2":
            raise SystemExit("ALPN did not select h2")
        self.sock.setblocking(False)
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.args = args
        self.streams = {}       # stream id -> {"buf", "bookmark", "got"}
        self.failed = []
        self.flush()

    def headers(self, path, method="GET"):
        return [(":method", method), (":scheme", "https"),
                (":path", path),
                (":authority", "127.0.0.1:%d" % self.args.port),
                ("authorization", "Bearer " + self.args.token)]

    def watch(self):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, self.headers("/v1/endpoints?watch=true"),
                             end_stream=True)
        self.streams[sid] = {"buf": b"", "bookmark": False, "got": None,
                             "status": None}

    def flush(self):
        data = self.h2.data_to_send()
        while data:
            try:
                n = self.sock.send(data)
                data = data[n:]
            except (ssl.SSLWantWriteError, BlockingIOError):
                select.select([], [self.sock], [], 1)

    def pump(self, name):
        """Read what is there; note bookmarks and the event for name."""
        try:
            data = self.sock.recv(1 << 16)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        if not data:
            self.failed.append("connection closed by the server")
            return
        for ev in self.h2.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                st = self.streams.get(ev.stream_id)
                if st is not None:
                    st["status"] = dict(ev.headers).get(b":status")
            elif isinstance(ev, h2.events.DataReceived):
                self.h2.acknowledge_received_data(
                    ev.flow_controlled_length, ev.stream_id)
                st = self.streams.get(ev.stream_id)
                if st is None:
                    continue
                st["buf"] += ev.data
                while b"\n" in st["buf"]:
                    line, st["buf"] = st["buf"].split(b"\n", 1)
                    self.line(st, line, name)
            elif isinstance(ev, (h2.events.StreamEnded,
                                 h2.events.StreamReset)):
                if ev.stream_id in self.streams:
                    self.failed.append("stream %d ended early"
                                       % ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.failed.append("GOAWAY %s" % ev.error_code)
        self.flush()

    @staticmethod
    def line(st, line, name):
        if not line.strip():
            return
        e = json.loads(line)
        if e.get("type") == "BOOKMARK":
            st["bookmark"] = True
        elif e.get("type") == "ADDED" and name is not None and \
                e.get("object", {}).get("name") == name and \
                st["got"] is None:
            st["got"] = time.monotonic()


def register(args, name):
    """PUT the endpoint on a connection of its own; the status."""
    c = Conn(args)
    sid = c.h2.get_next_available_stream_id()
    body = json.dumps({"url": "tcp://10.9.9.9:5000",
                       "network_service_names": ["fanout"]}).encode()
    c.h2.send_headers(sid, c.headers("/v1/endpoints/" + name, "PUT") +
                      [("content-type", "application/json"),
                       ("content-length", str(len(body)))])
    c.h2.send_data(sid, body, end_stream=True)
    c.flush()
    status = None
    deadline = time.monotonic() + 10
    while status is None and time.monotonic() < deadline:
        select.select([c.sock], [], [], 0.5)
        try:
            data = c.sock.recv(1 << 16)
        except (ssl.SSLWantReadError, BlockingIOError):
            continue
        for ev in c.h2.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers).get(b":status")
        c.flush()
    c.sock.close()
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    with open(args.token_file) as f:
        args.token = f.read().strip()

    conns = [Conn(args) for _ in range(args.connections)]
    for c in conns:
        for _ in range(args.streams):
            c.watch()
        c.flush()
    total = args.connections * args.streams

    def wait(pred, name, what):
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            socks = [c.sock for c in conns]
            r, _, _ = select.select(socks, [], [], 0.2)
            for c in conns:
                if c.sock in r or c.sock.pending():
                    c.pump(name)
            failed = [f for c in conns for f in c.failed]
            if failed:
                print("fanout: %s: %s" % (what, "; ".join(failed[:5])))
                return False
            if all(pred(st) for c in conns for st in c.streams.values()):
                return True
        n = sum(1 for c in conns for st in c.streams.values() if pred(st))
        print("fanout: %s: %d of %d streams within %g s"
              % (what, n, total, args.timeout))
        return False

    if not wait(lambda st: st["bookmark"], None, "first BOOKMARK"):
        return 1
    bad = [st["status"] for c in conns for st in c.streams.values()
           if st["status"] != b"200"]
    if bad:
        print("fanout: %d streams answered %r" % (len(bad), bad[0]))
        return 1
    name = "fanout-" + uuid.uuid4().hex[:12]
    t0 = time.monotonic()
    status = register(args, name)
    if status != b"201":
        print("fanout: PUT /v1/endpoints/%s answered %r" % (name, status))
        return 1
    if not wait(lambda st: st["got"] is not None, name, "the ADDED event"):
        return 1
    ms = sorted((st["got"] - t0) * 1000 for c in conns
                for st in c.streams.values())
    print("fanout: %d streams on %d connections got the event, after the "
          "PUT was sent: p50 %.0f ms, p99 %.0f ms, slowest %.0f ms (as this "
          "one client read them)" % (total, len(conns), ms[len(ms) // 2],
                                    ms[min(len(ms) - 1, len(ms) * 99 // 100)],
                                    ms[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
