#!/usr/bin/env python3
# attack.py - one known attack on HTTP/2 servers against a live nsregd's
# h2 listener, while a well-behaved client on another connection keeps
# asking; run by tests/integration/test_h2_abuse.c.
#
#   attack.py ATTACK --port P --ca BUNDLE.pem --token-file ADMIN.token
#
# Passes (exit 0) when
#  - the attacking connection gets GOAWAY with the expected error code
#    and is then closed by the server,
#  - every request of the well-behaved client, from before the attack to
#    after it, is answered 200 within 1 s,
#  - /metrics counts exactly one nsreg_h2_goaway_total for the attack's
#    reason and none for any other.
# Otherwise prints what went wrong and exits 1.  The attacks speak raw
# frames (hyperframe, hpack): python3-h2's state machine would refuse to
# misbehave; the well-behaved client is python3-h2 itself, acknowledging
# every chunk it reads (a WINDOW_UPDATE each, the chattiest legal way).
import argparse
import multiprocessing
import select
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame,
                              GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame)

MAGIC = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x3
CANCEL, ENHANCE_YOUR_CALM = 0x8, 0xb
REASONS = ("rapid_reset", "control_flood", "continuation_flood",
           "header_list", "slow_read", "header_timeout")


def connect(args):
    """A TLS connection to the h2 listener, ALPN h2, or h2c."""
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.h2c:
        return raw
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    if s.selected_alpn_protocol() != "h2":
        raise SystemExit("ALPN did not select h2")
    return s


def request_headers(args, path, method="GET"):
    return [(":method", method), (":scheme", "http" if args.h2c else
            "https"), (":path", path), (":authority",
            "127.0.0.1:%d" % args.port), ("authorization",
            "Bearer " + args.token)]


class FrameReader:
    """Reads the server's frames off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        if self.eof:
            return False
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError,
                OSError):
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def frame(self, deadline):
        """The next frame, or None at EOF or the deadline."""
        while time.monotonic() < deadline:
            if len(self.buf) >= 9:
                f, length = Frame.parse_frame_header(
                    memoryview(self.buf[:9]))
                if len(self.buf) >= 9 + length:
                    f.parse_body(memoryview(self.buf[9:9 + length]))
                    self.buf = self.buf[9 + length:]
                    return f
            if not self._fill(deadline) and self.eof:
                return None
        return None

    def goaway_then_close(self, timeout):
        """(GOAWAY error code or None, closed after it?)"""
        deadline = time.monotonic() + timeout
        code = None
        while time.monotonic() < deadline:
            f = self.frame(deadline)
            if f is None:
                break
            if isinstance(f, GoAwayFrame) and code is None:
                code = f.error_code
        while code is not None and not self.eof and \
                time.monotonic() < deadline:
            self.buf = b""
            self._fill(deadline)
        return code, self.eof


def send(sock, data):
    """Send, ignoring the server having closed already."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        return False


def preface(settings=None):
    sf = SettingsFrame(0)
    for k, v in (settings or {}).items():
        sf.settings[k] = v
    return MAGIC + sf.serialize()


def headers_block(args, path, enc=None, method="GET"):
    enc = enc or hpack.Encoder()
    return enc.encode(request_headers(args, path, method))


# The attacks: each returns the bytes to send (or does its own sending)
# and the expected (error code, reason).

def attack_rapid_reset(args, sock):
    """HEADERS then RST_STREAM at once, over and over (CVE-2023-44487)."""
    enc = hpack.Encoder()
    out = [preface(), SettingsFrame(0, flags=["ACK"]).serialize()]
    for i in range(2 * args.max_resets + 50):
        sid = 1 + 2 * i
        hf = HeadersFrame(sid, headers_block(args, "/v1/services", enc))
        hf.flags.add("END_HEADERS")
        hf.flags.add("END_STREAM")
        out.append(hf.serialize())
        out.append(RstStreamFrame(sid, error_code=CANCEL).serialize())
    send(sock, b"".join(out))
    return ENHANCE_YOUR_CALM, "rapid_reset"


def flood(args, sock, frame, extra=b""):
    n = 2 * args.max_control + 50
    send(sock, preface() + extra + frame.serialize() * n)


def attack_ping_flood(args, sock):
    flood(args, sock, PingFrame(0, opaque_data=b"12345678"))
    return ENHANCE_YOUR_CALM, "control_flood"


def attack_settings_flood(args, sock):
    flood(args, sock, SettingsFrame(0))
    return ENHANCE_YOUR_CALM, "control_flood"


def attack_empty_data_flood(args, sock):
    """A POST whose body is endless empty DATA frames."""
    hf = HeadersFrame(1, headers_block(args, "/v1/services", None, "POST"))
    hf.flags.add("END_HEADERS")
    flood(args, sock, DataFrame(1, data=b""), hf.serialize())
    return ENHANCE_YOUR_CALM, "control_flood"


def attack_continuation_flood(args, sock):
    """A header block that never ends (CVE-2024-27316 and kin)."""
    out = [preface()]
    out.append(HeadersFrame(1, headers_block(args, "/healthz")).serialize())
    for i in range(40):
        # A literal field without indexing, name and value inline.
        name = b"x-fill-%d" % i
        block = bytes([0, len(name)]) + name + bytes([1]) + b"v"
        out.append(ContinuationFrame(1, block).serialize())
    send(sock, b"".join(out))
    return ENHANCE_YOUR_CALM, "continuation_flood"


def attack_hpack_bomb(args, sock):
    """One big field in the dynamic table, referenced over and over."""
    enc = hpack.Encoder()
    block = enc.encode(request_headers(args, "/healthz") +
                       [("x-bomb", "a" * 3600)], huffman=False)
    # The last field inserted is dynamic index 62: one byte each.
    block += b"\xbe" * 400
    hf = HeadersFrame(1, block)
    hf.flags.add("END_HEADERS")
    hf.flags.add("END_STREAM")
    send(sock, preface() + hf.serialize())
    return ENHANCE_YOUR_CALM, "header_list"


def attack_zero_window(args, sock):
    """Ask for an answer, never open the window to receive it."""
    hf = HeadersFrame(1, headers_block(args, "/v1/services"))
    hf.flags.add("END_HEADERS")
    hf.flags.add("END_STREAM")
    # SETTINGS_INITIAL_WINDOW_SIZE (4) = 0: every stream starts shut.
    send(sock, preface({4: 0}) + SettingsFrame(0, flags=["ACK"]).serialize()
         + hf.serialize())
    return FLOW_CONTROL_ERROR, "slow_read"


def attack_slowloris_preface(args, sock):
    """The client preface a byte at a time, never finished."""
    for b in MAGIC[:-1]:
        # Stop once the server spoke (its SETTINGS came at once: wait
        # for more), so that nothing is sent into a closed socket.
        if not send(sock, bytes([b])):
            break
        time.sleep(0.2)
        if select.select([sock], [], [], 0)[0] and \
                time.monotonic() - args.t0 > args.header_timeout:
            break
        if time.monotonic() - args.t0 > args.header_timeout + 3:
            break
    return PROTOCOL_ERROR, "header_timeout"


def attack_slowloris_headers(args, sock):
    """A header block begun and left open."""
    hf = HeadersFrame(1, headers_block(args, "/healthz"))
    send(sock, preface() + hf.serialize())
    return PROTOCOL_ERROR, "header_timeout"


ATTACKS = {
    "rapid_reset": attack_rapid_reset,
    "ping_flood": attack_ping_flood,
    "settings_flood": attack_settings_flood,
    "empty_data_flood": attack_empty_data_flood,
    "continuation_flood": attack_continuation_flood,
    "hpack_bomb": attack_hpack_bomb,
    "zero_window": attack_zero_window,
    "slowloris_preface": attack_slowloris_preface,
    "slowloris_headers": attack_slowloris_headers,
}


class Client:
    """A well-behaved HTTP/2 client (python3-h2) on its own connection."""

    def __init__(self, args):
        self.args = args
        self.sock = connect(args)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True,
                                      header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def get(self, path, timeout=5.0):
        """(status, body) of GET path."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, request_headers(self.args, path),
                               end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status, body = None, b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            if not data:
                raise ConnectionError("the server closed the connection")
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and \
                        ev.stream_id == sid:
                    status = int(dict(ev.headers)[":status"])
                elif isinstance(ev, h2.events.DataReceived):
                    if ev.stream_id == sid:
                        body += ev.data
                    self.conn.acknowledge_received_data(
                        ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise ConnectionError("GOAWAY %d to the good client"
                                          % ev.error_code)
                elif isinstance(ev, h2.events.StreamEnded) and \
                        ev.stream_id == sid:
                    self.sock.sendall(self.conn.data_to_send())
                    return status, body
            self.sock.sendall(self.conn.data_to_send())
        raise TimeoutError("no answer to GET %s within %.1f s"
                           % (path, timeout))


def good_client(args, ready, stop, out):
    """Ask /healthz over and over; report the slowest answer."""
    try:
        c = Client(args)
        st, _ = c.get("/healthz")
        if st != 200:
            raise RuntimeError("GET /healthz: %s" % st)
        ready.set()
        n, worst = 0, 0.0
        while not stop.is_set():
            t = time.monotonic()
            st, _ = c.get("/healthz")
            dt = time.monotonic() - t
            if st != 200:
                raise RuntimeError("GET /healthz: %s" % st)
            worst = max(worst, dt)
            n += 1
            time.sleep(0.02)
        st, body = c.get("/metrics")
        if st != 200:
            raise RuntimeError("GET /metrics: %s" % st)
        out.put(("ok", n, worst, body.decode()))
    except Exception as e:  # reported by the parent
        ready.set()
        out.put(("error", repr(e)))


def metric(text, reason):
    key = 'nsreg_h2_goaway_total{reason="%s"} ' % reason
    for line in text.splitlines():
        if line.startswith(key):
            return float(line[len(key):])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("attack", choices=sorted(ATTACKS))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--h2c", action="store_true")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--max-resets", type=int, default=100)
    ap.add_argument("--max-control", type=int, default=200)
    ap.add_argument("--header-timeout", type=float, default=2.0)
    ap.add_argument("--stall-timeout", type=float, default=2.0)
    args = ap.parse_args()
    with open(args.token_file) as f:
        args.token = f.read().strip()

    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    out = multiprocessing.Queue()
    good = multiprocessing.Process(target=good_client,
                                   args=(args, ready, stop, out))
    good.start()
    ready.wait(30)
    fails = []

    args.t0 = time.monotonic()
    sock = connect(args)
    code, reason = ATTACKS[args.attack](args, sock)
    wait = 10 + max(args.header_timeout, args.stall_timeout)
    got, closed = FrameReader(sock).goaway_then_close(wait)
    took = time.monotonic() - args.t0
    sock.close()
    if got != code:
        fails.append("GOAWAY error code %s, expected %#x" %
                     ("none" if got is None else "%#x" % got, code))
    elif not closed:
        fails.append("the connection stayed open after GOAWAY")
    time.sleep(0.5)    # the good client keeps asking after the attack
    stop.set()
    res = out.get(timeout=60)
    good.join(10)
    if res[0] != "ok":
        fails.append("the good client: " + res[1])
    else:
        _, n, worst, text = res
        if worst >= 1.0:
            fails.append("the good client waited %.3f s for an answer"
                         % worst)
        for r in REASONS:
            want = 1 if r == reason else 0
            if metric(text, r) != want:
                fails.append("nsreg_h2_goaway_total{reason=\"%s\"} is %s, "
                             "expected %d" % (r, metric(text, r), want))
        print("%s: GOAWAY %s after %.2f s; the good client made %d "
              "requests, slowest %.3f s" % (args.attack, "none" if got is
                                            None else "%#x" % got, took,
                                            n, worst))
    for f in fails:
        print("%s: %s" % (args.attack, f))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
