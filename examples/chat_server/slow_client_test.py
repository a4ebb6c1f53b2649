#!/usr/bin/env python3
"""chat_server drops a client that stops reading, and serves the others on.

Starts the chat_server given as argv[1] on a free port with a small --max-queued, puts a
client that never reads and a busy client in one room, has the busy client say large lines
(reading its own echoes), and checks that the server closes the silent client's connection
and reports dropped_slow=1, while the busy client gets every one of its lines back.
"""
import socket
import subprocess
import sys

server = subprocess.Popen([sys.argv[1], "--port", "0", "--max-queued", "65536"], stdout=subprocess.PIPE, text=True)
try:
    first = server.stdout.readline()
    assert first.startswith("listening on "), first
    port = int(first.rsplit(":", 1)[1])

    def client():
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # (no Nagle wait on each line)
        s.settimeout(30)
        return s

    def read_line(s, buf):
        while b"\n" not in buf[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            buf[0] += chunk
        line, buf[0] = buf[0].split(b"\n", 1)
        return line.decode()

    silent = client()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    silent.sendall(b"JOIN r\n")
    sbuf = [b""]
    assert read_line(silent, sbuf) == "OK"  # then it reads no more

    busy = client()
    bbuf = [b""]
    busy.sendall(b"NICK busy\nJOIN r\n")
    assert read_line(busy, bbuf) == "OK" and read_line(busy, bbuf) == "OK"

    text = "x" * 4000
    lines = 3000  # 12 MB: far more than the silent client's buffers and queue hold
    got = []
    # The busy client keeps at most 8 lines in flight, so that it, unlike the silent one,
    # never lets its own queue grow.
    for i in range(lines):
        busy.sendall(f"SAY r {i} {text}\n".encode())
        while len(got) < i - 8:
            got.append(read_line(busy, bbuf))
    while len(got) < lines:
        got.append(read_line(busy, bbuf))
    assert all(l == f"MSG r busy {i} {text}" for i, l in enumerate(got)), "a line was lost or changed"

    # (Draining the silent client would take minutes through its 4 KiB window: the server's
    # count of dropped clients says it was dropped.)
    silent.close()
    busy.close()

    server.send_signal(2)
    out, _ = server.communicate(timeout=30)
    assert server.returncode == 0, out
    assert "dropped_slow=1 " in out, out
    assert "invariant (after the last connection closed, every session, room and the directory finished): ok" in out, out
    print("chat slow client: ok")
finally:
    if server.poll() is None:
        server.kill()
