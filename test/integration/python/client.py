#!/usr/bin/env python3
"""A Troupe call from Python over a raw socket: the NATS text protocol by hand, no NATS library.

Proves the external call protocol (docs/protocol.md) is language neutral. Needs only the standard
library and Debian's python3-msgpack (for msgpack calls).

usage: client.py HOST PORT SUBJECT ENCODING REQUEST_JSON [TIMEOUT_MS]
  ENCODING is json or msgpack; REQUEST_JSON is the call, e.g. '{"method":"deposit","args":[5]}'.
Prints one JSON line: {"status": ..., "headers": {...}, "reply": ...}.
"""
import json
import os
import socket
import sys

import msgpack

CRLF = b"\r\n"

ACTOR_REF = 42  # msgpack ext type of an ActorRef: its data is the msgpack tuple [system, node, shard, path, uid]


def ext_hook(code, data):
    """Reads an ActorRef into the same object a JSON reply holds for it."""
    if code == ACTOR_REF:
        system, node, shard, path, uid = msgpack.unpackb(data, raw=False)
        return {"system": system, "node": node, "shard": shard, "path": path, "uid": uid}
    return msgpack.ExtType(code, data)


class Conn:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def line(self):
        while CRLF not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(CRLF, 1)
        return line.decode("utf-8")

    def exactly(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        self.sock.sendall(data)


def parse_headers(block):
    """NATS/1.0[ status[ description]]\\r\\nKey: Value\\r\\n...\\r\\n\\r\\n"""
    lines = block.decode("utf-8").split("\r\n")
    version_line = lines[0].split(" ", 2)
    status = version_line[1] if len(version_line) > 1 else ""
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    return status, headers


def call(host, port, subject, encoding, request, timeout_ms):
    conn = Conn(host, port, timeout=max(timeout_ms / 1000.0, 1.0) + 2.0)
    info = conn.line()
    if not info.startswith("INFO "):
        raise RuntimeError("expected INFO, got " + info)
    connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
               "lang": "python-raw", "version": "0.1", "protocol": 1}
    conn.send(b"CONNECT " + json.dumps(connect).encode() + CRLF + b"PING" + CRLF)
    while True:
        line = conn.line()
        if line == "PONG":
            break
        if line.startswith("-ERR"):
            raise RuntimeError(line)

    inbox = "_INBOX.py." + os.urandom(8).hex()
    conn.send(b"SUB " + inbox.encode() + b" 1" + CRLF)

    content_type = "application/msgpack" if encoding == "msgpack" else "application/json"
    body = msgpack.packb(request, use_bin_type=True) if encoding == "msgpack" else json.dumps(request).encode()
    header_block = ("NATS/1.0\r\nContent-Type: %s\r\nTroupe-Timeout: %d\r\n\r\n" % (content_type, timeout_ms)).encode()
    total = len(header_block) + len(body)
    conn.send(b"HPUB %s %s %d %d\r\n" % (subject.encode(), inbox.encode(), len(header_block), total) + header_block + body + CRLF)

    while True:
        line = conn.line()
        if line == "PING":
            conn.send(b"PONG" + CRLF)
            continue
        if line.startswith("-ERR"):
            raise RuntimeError(line)
        parts = line.split(" ")
        if parts[0] == "MSG":
            # MSG <subject> <sid> [reply-to] <#bytes>
            payload = conn.exactly(int(parts[-1]) + 2)[:-2]
            status, headers = "", {}
            break
        if parts[0] == "HMSG":
            # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
            header_len, total_len = int(parts[-2]), int(parts[-1])
            data = conn.exactly(total_len + 2)[:-2]
            status, headers = parse_headers(data[:header_len])
            payload = data[header_len:]
            break
    conn.sock.close()

    if status == "503":
        return {"status": status, "headers": headers, "reply": None}
    reply_type = headers.get("Content-Type", content_type)
    reply = msgpack.unpackb(payload, raw=False, ext_hook=ext_hook) if reply_type == "application/msgpack" else json.loads(payload)
    return {"status": status, "headers": headers, "reply": reply}


def main(argv):
    if len(argv) < 6:
        sys.stderr.write(__doc__)
        return 2
    host, port, subject, encoding, request = argv[1], int(argv[2]), argv[3], argv[4], json.loads(argv[5])
    timeout_ms = int(argv[6]) if len(argv) > 6 else 5000
    print(json.dumps(call(host, port, subject, encoding, request, timeout_ms)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
