#!/usr/bin/env python3
"""A client of troupe's wire protocol written from docs/protocol.md alone, with Python's standard
library (socket, hmac, struct): it starts a net_peer, does the handshake, looks an actor up,
sends requests and checks the replies, then checks that a wrong secret is refused.

Usage: python_client.py PATH_TO_NET_PEER
"""
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys

SECRET = b"s3cret"
LABEL = b"troupe handshake v1"
HELLO, CHALLENGE, WELCOME, REFUSE = 0x01, 0x02, 0x03, 0x04
TYPE_DEF, MESSAGE, REPLY, LOOKUP, LOOKUP_REPLY, HEARTBEAT, CANCEL = 0x10, 0x11, 0x12, 0x14, 0x15, 0x16, 0x17


def fail(why):
    print("python client: FAILED: " + why)
    sys.exit(1)


def string(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.types_in = []  # the node's type numbers: index -> registered name
        self.types_out = {}  # ours: name -> number

    def send(self, ftype, body=b""):
        self.sock.sendall(struct.pack("<IB", len(body) + 1, ftype) + body)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """The next frame other than a heartbeat, as (type, body); type definitions are recorded."""
        while True:
            head = self._read(5)
            if head is None:
                return None, None
            length, ftype = struct.unpack("<IB", head)
            body = self._read(length - 1)
            if ftype == HEARTBEAT:
                continue
            if ftype == TYPE_DEF:
                number, n = struct.unpack_from("<II", body)
                if number != len(self.types_in):
                    fail("type numbers out of order")
                self.types_in.append(body[8:8 + n].decode())
                continue
            return ftype, body

    def expect(self, want):
        ftype, body = self.frame()
        if ftype != want:
            fail("expected frame 0x%02x, got %r (%r)" % (want, ftype, body))
        return body

    def type_number(self, name):
        if name not in self.types_out:
            number = len(self.types_out)
            self.types_out[name] = number
            self.send(TYPE_DEF, struct.pack("<I", number) + string(name))
        return self.types_out[name]

    def handshake(self, secret, my_id, check_node=True):
        my_nonce = os.urandom(32)
        self.send(HELLO, struct.pack("<HQ", 2, my_id) + my_nonce)
        body = self.expect(HELLO)
        version, node_id = struct.unpack_from("<HQ", body)
        node_nonce = body[10:42]
        if version != 2:
            fail("protocol version %d" % version)
        # The node's proof covers our nonce first: HMAC(secret, label | my nonce | its nonce | its id | my id).
        proof = self.expect(CHALLENGE)
        want = hmac.new(secret, LABEL + my_nonce + node_nonce + struct.pack("<QQ", node_id, my_id), hashlib.sha256).digest()
        if check_node and not hmac.compare_digest(proof, want):
            fail("the node's proof is wrong")
        mine = hmac.new(secret, LABEL + node_nonce + my_nonce + struct.pack("<QQ", my_id, node_id), hashlib.sha256).digest()
        self.send(CHALLENGE, mine)
        ftype, body = self.frame()
        if ftype == REFUSE:
            n = struct.unpack_from("<I", body)[0]
            return node_id, body[4:4 + n].decode()
        if ftype != WELCOME:
            fail("expected welcome, got %r" % ftype)
        self.send(WELCOME)
        return node_id, None

    def send_request(self, request_id, to, type_name, value, budget_us=0):
        number = self.type_number(type_name)
        self.send(MESSAGE, struct.pack("<QQQQI", 0, to, request_id, budget_us, number) + value)

    def request(self, request_id, to, type_name, value, budget_us=0):
        self.send_request(request_id, to, type_name, value, budget_us)
        return self.reply(request_id)

    def reply(self, request_id):
        body = self.expect(REPLY)
        rid, status = struct.unpack_from("<QB", body)
        if rid != request_id:
            fail("a reply to request %d, expected %d" % (rid, request_id))
        if status == 1:
            code, n = struct.unpack_from("<BI", body, 9)
            return ("error", code, body[14:14 + n].decode())
        number = struct.unpack_from("<I", body, 9)[0]
        return (self.types_in[number], body[13:])


def main():
    if len(sys.argv) != 2:
        fail("usage: python_client.py PATH_TO_NET_PEER")
    peer = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = peer.stdout.readline().split()
        if len(ready) != 3 or ready[0] != "ready":
            fail("net_peer did not start: %r" % ready)
        port, node_hex = int(ready[1]), ready[2]

        c = Conn(port)
        node_id, refused = c.handshake(SECRET, 0x5059)  # "PY"
        if refused:
            fail("refused: " + refused)
        if node_id != int(node_hex, 16):
            fail("the node's id differs from the one it printed")

        c.send(LOOKUP, struct.pack("<Q", 1) + string("server"))
        lookup_id, found, server = struct.unpack("<QBQ", c.expect(LOOKUP_REPLY))
        if lookup_id != 1 or found != 1 or server == 0:
            fail("lookup of \"server\" failed")

        name, value = c.request(1, server, "string", string("hello from python"))
        n = struct.unpack_from("<I", value)[0]
        if name != "string" or value[4:4 + n].decode() != "hello from python":
            fail("the string came back as %r %r" % (name, value))

        name, value = c.request(2, server, "peer.add", struct.pack("<ii", 40, 2))
        if name != "i32" or struct.unpack("<i", value)[0] != 42:
            fail("add(40, 2) came back as %r %r" % (name, value))

        reply = c.request(3, 999999, "peer.add", struct.pack("<ii", 1, 1))
        if reply[0] != "error" or reply[1] != 2:  # receiver_down
            fail("a request to no actor gave %r" % (reply,))

        # A request with a 5 s budget: the handler sees (about) that much time left.
        c.send(LOOKUP, struct.pack("<Q", 3) + string("worker"))
        _, found, worker = struct.unpack("<QBQ", c.expect(LOOKUP_REPLY))
        if found != 1:
            fail("lookup of \"worker\" failed")
        name, value = c.request(4, worker, "peer.deadline_left", b"", budget_us=5_000_000)
        left = struct.unpack("<i", value)[0]
        if name != "i32" or not 4000 <= left <= 5000:
            fail("a 5 s budget left %r ms" % left)
        name, value = c.request(5, worker, "peer.deadline_left", b"")
        if struct.unpack("<i", value)[0] != -1:
            fail("a request without a budget has a deadline")

        # A budget already spent by the time the handler runs (1 us): the request its coroutine
        # makes inherits the deadline and fails at once with errc::timeout, which it answers with.
        reply = c.request(7, worker, "peer.slow_job", struct.pack("<i", 8), budget_us=1)
        if reply[0] != "error" or reply[1] != 1:  # timeout
            fail("a request whose budget was spent gave %r" % (reply,))

        # A request that is never answered, cancelled: the node answers it with errc::cancelled.
        c.send_request(6, worker, "peer.slow_job", struct.pack("<i", 7))
        c.send(CANCEL, struct.pack("<Q", 6))
        reply = c.reply(6)
        if reply[0] != "error" or reply[1] != 10:  # cancelled
            fail("a cancelled request gave %r" % (reply,))
        c.send(CANCEL, struct.pack("<Q", 6))  # again: too late, ignored (no second reply)

        # A cancel still finds its request after many others were answered (the node sweeps
        # answered ones out of its table of pending requests as it grows), and finds one whose
        # id came out of order. A fresh connection, so that its ids start in order.
        d = Conn(port)
        _, refused = d.handshake(SECRET, 0x5061)
        if refused:
            fail("the second connection was refused: " + refused)
        d.send_request(10, worker, "peer.slow_job", struct.pack("<i", 9))
        for i in range(11, 311):
            name, value = d.request(i, server, "peer.add", struct.pack("<ii", i, 1))
            if struct.unpack("<i", value)[0] != i + 1:
                fail("add(%d, 1) came back as %r" % (i, value))
        for held in (10, 5, 400):  # 10: after 300 answered; 5: out of order; 400: after it
            if held != 10:
                d.send_request(held, worker, "peer.slow_job", struct.pack("<i", held))
            d.send(CANCEL, struct.pack("<Q", held))
            reply = d.reply(held)
            if reply[0] != "error" or reply[1] != 10:
                fail("cancelling request %d gave %r" % (held, reply))

        c.send(LOOKUP, struct.pack("<Q", 2) + string("nobody"))
        lookup_id, found, _ = struct.unpack("<QBQ", c.expect(LOOKUP_REPLY))
        if lookup_id != 2 or found != 0:
            fail("a lookup of an unpublished name was found")

        wrong = Conn(port)
        _, refused = wrong.handshake(b"wrong secret", 0x5060, check_node=False)
        if not refused or "authentication failed" not in refused:
            fail("a wrong secret was not refused: %r" % refused)

        print("python client: ok (handshake, lookup, string and add requests, receiver_down, budget, cancel, cancel after sweeps and out of order, refusal)")
    finally:
        peer.stdin.close()
        peer.wait(timeout=20)


if __name__ == "__main__":
    main()
