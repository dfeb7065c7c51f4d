#!/usr/bin/python3
"""Peers for evcat's permessage-deflate tests (deflate.sh).

usage: deflate_peer.py server PORT [narrow]
           python3-websockets as a server, compression as it negotiates it by
           default (narrow: server_no_context_takeover,
           client_no_context_takeover and server_max_window_bits=10 forced
           on whoever connects). /echo echoes; /info sends what was agreed
           (repr of ws.extensions) and closes 1000; /big sends a 200 KB
           repetitive text message and closes 1000.
       deflate_peer.py raw PORT
           a raw-socket server that answers as a test needs, and logs on
           stderr the close code the client sent: "PATH closed CODE".
           /bomb: accepts the client's permessage-deflate offer and sends one
           small compressed message that inflates to 64 MiB.
           /answer?ext=VALUE: answers with Sec-WebSocket-Extensions: VALUE
           (URL-decoded), then a plain "hello".
       deflate_peer.py client URL [no-takeover]
           python3-websockets as a client (its default offer, or asking for
           no context takeover both ways): prints what was agreed, sends
           text and binary messages and checks the echoes; with a /ws URL,
           prints the first two messages it receives instead.
"""
import asyncio
import base64
import hashlib
import socket
import struct
import sys
import threading
import urllib.parse
import zlib

import websockets
from websockets.extensions import permessage_deflate as pmd

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# ---- server: python3-websockets ----

async def handler(ws, path):
    if path == "/echo":
        async for msg in ws:
            await ws.send(msg)
    elif path == "/info":
        await ws.send(repr(ws.extensions))
        await ws.close(1000)
    elif path == "/big":
        await ws.send('{"k":"value","n":12345}' * 8700)
        await ws.close(1000)
    else:
        await ws.close(1008, "no such path")


async def serve(port, narrow):
    ext = None
    if narrow:
        ext = [pmd.ServerPerMessageDeflateFactory(server_no_context_takeover=True,
                                                  client_no_context_takeover=True,
                                                  server_max_window_bits=10,
                                                  require_client_max_window_bits=False)]
    async with websockets.serve(handler, "127.0.0.1", port, max_size=64 << 20,
                                ping_interval=None, extensions=ext):
        await asyncio.Future()


# ---- server: raw sockets ----

def frame(opcode, payload, rsv1=False):
    b0 = 0x80 | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


def read_close(sock):
    """The close code of the client's first close frame (None: none)."""
    buf = b""
    sock.settimeout(10)
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            h = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack("!H", buf[2:4])[0]
                h = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack("!Q", buf[2:10])[0]
                h = 10
            if len(buf) < h + 4 + n:
                break
            key = buf[h:h + 4]
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(buf[h + 4:h + 4 + n]))
            op = buf[0] & 0x0F
            buf = buf[h + 4 + n:]
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def raw_client(sock):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n")
        target = lines[0].split(b" ")[1].decode()
        headers = {}
        for line in lines[1:]:
            if b":" in line:
                k, v = line.split(b":", 1)
                headers[k.strip().lower()] = v.strip().decode()
        key = headers.get(b"sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        url = urllib.parse.urlsplit(target)
        offered = "permessage-deflate" in headers.get(b"sec-websocket-extensions", "")
        ext = None
        body = b""
        if url.path == "/bomb":
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            z = c.compress(b"\0" * (64 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
            if offered:
                ext = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
                body = frame(2, z[:-4], rsv1=True)
            else:
                body = frame(1, b"no offer, no bomb")
        elif url.path == "/answer":
            ext = urllib.parse.parse_qs(url.query).get("ext", [""])[0]
            body = frame(1, b"hello")
        resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % accept)
        if ext is not None:
            resp += "Sec-WebSocket-Extensions: %s\r\n" % ext
        sock.sendall(resp.encode() + b"\r\n" + body)
        code = read_close(sock)
        print("%s closed %s" % (url.path, code if code is not None else "none"),
              file=sys.stderr, flush=True)
    except OSError:
        pass
    finally:
        sock.close()


def raw(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=raw_client, args=(s,), daemon=True).start()


# ---- client: python3-websockets ----

async def client(url, no_takeover):
    ext = None
    if no_takeover:
        ext = [pmd.ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                                  client_no_context_takeover=True)]
    async with websockets.connect(url, extensions=ext, max_size=64 << 20,
                                  ping_interval=None, open_timeout=10) as ws:
        print("agreed", repr(ws.extensions), flush=True)
        if url.endswith("/ws"):
            for _ in range(2):
                print("got", await asyncio.wait_for(ws.recv(), 10), flush=True)
            return
        msgs = ["hello", "héllo wörld " * 500, b"\x00\x01binary" * 300, "", "again " * 100]
        for m in msgs:
            await ws.send(m)
            back = await asyncio.wait_for(ws.recv(), 10)
            if back != m:
                print("MISMATCH", len(back), len(m), flush=True)
                sys.exit(1)
        print("echoed", len(msgs), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "server":
        asyncio.run(serve(int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "narrow"))
    elif mode == "raw":
        raw(int(sys.argv[2]))
    elif mode == "client":
        asyncio.run(client(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "no-takeover"))


if __name__ == "__main__":
    main()
