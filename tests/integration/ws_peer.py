#!/usr/bin/python3
"""WebSocket peer for the evcat serve integration tests, on Debian's
python3-websockets (an independent implementation). Every mode is bounded in
time and prints its results, one per line.

  ws_peer.py echo URL                 text and binary of several sizes (up to
                                      4 MiB), fragmented input, ping/pong;
                                      prints "ok NAME" or "bad NAME ..." each
  ws_peer.py close URL CODE [REASON]  close with CODE; prints the code the
                                      server answered with
  ws_peer.py recv URL N [SECONDS]     print the first N text messages
  ws_peer.py send URL MSG...          send each MSG as text, then close 1000
  ws_peer.py sendbin URL HEX          send one binary message, then close
  ws_peer.py big URL SIZE             send one SIZE-byte text message; print
                                      "close CODE" when the server closes
  ws_peer.py wait_close URL SECONDS   connect, print "ready", then the close
                                      code and reason the server sends
  ws_peer.py stalled URL SECONDS      connect to /ws with a tiny receive
                                      buffer and never read; print how it ended
"""
import asyncio
import socket
import sys

import websockets


def connect(url, **kw):
    return websockets.connect(url, compression=None, max_size=None, open_timeout=5,
                              close_timeout=5, ping_interval=None, **kw)


async def echo(url):
    async with connect(url) as ws:
        for size in (0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20):
            text = "".join(chr(0x61 + i % 26) for i in range(min(size, 26))) * (size // 26 + 1)
            text = text[:size]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 10)
            print(("ok" if got == text else "bad") + f" text {size}")
            data = bytes((i * 7) & 0xff for i in range(size))
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), 10)
            print(("ok" if got == data else "bad") + f" binary {size}")
        await ws.send(["frag", "men", "ted é"])
        got = await asyncio.wait_for(ws.recv(), 5)
        print(("ok" if got == "fragmented é" else f"bad {got!r}") + " fragmented text")
        await ws.send([b"\x00\x01", b"\x02"])
        got = await asyncio.wait_for(ws.recv(), 5)
        print(("ok" if got == b"\x00\x01\x02" else f"bad {got!r}") + " fragmented binary")
        waiter = await ws.ping(b"evcat-ping")
        await asyncio.wait_for(waiter, 5)
        print("ok ping/pong")
        await ws.close(1000, "done")
        print(("ok" if ws.close_code == 1000 else f"bad {ws.close_code}") + " close 1000")


async def close(url, code, reason):
    async with connect(url) as ws:
        await ws.close(code, reason)
        print(ws.close_code)


async def recv(url, n, seconds):
    async with connect(url) as ws:
        print("ready", flush=True)
        for _ in range(n):
            got = await asyncio.wait_for(ws.recv(), seconds)
            print(got if isinstance(got, str) else "binary " + got.hex(), flush=True)


async def send(url, msgs):
    async with connect(url) as ws:
        for m in msgs:
            await ws.send(m)
        await ws.close(1000)


async def sendbin(url, hexdata):
    async with connect(url) as ws:
        await ws.send(bytes.fromhex(hexdata))
        await ws.send("after binary")
        await ws.close(1000)


async def big(url, size):
    async with connect(url) as ws:
        try:
            await ws.send("b" * size)
            await asyncio.wait_for(ws.recv(), 10)
            print("no close")
        except websockets.exceptions.ConnectionClosed as e:
            print(f"close {e.rcvd.code if e.rcvd else 'none'}")


async def wait_close(url, seconds):
    async with connect(url) as ws:
        print("ready", flush=True)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), seconds)
        except websockets.exceptions.ConnectionClosed as e:
            print(f"close {e.rcvd.code} {e.rcvd.reason}" if e.rcvd else "closed without a frame")
        except asyncio.TimeoutError:
            print("timeout")


def stalled(url, seconds):
    """Raw socket: a valid upgrade, then never read."""
    import base64
    import os
    import time
    host, port_path = url.split("//", 1)[1].split(":", 1)
    port, path = port_path.split("/", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    print("ready", flush=True)
    deadline = time.time() + seconds
    # Probe for the end without reading data: a reset shows up on send.
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            s.send(b"\x8a\x80\x00\x00\x00\x00")  # an empty masked pong: harmless
        except OSError:
            print("dropped", flush=True)
            return
    # The server may have closed politely (1008 behind what we never read).
    s.settimeout(2)
    try:
        data = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        print("dropped" if b"\x88" in data[-64:] else "not dropped", flush=True)
    except OSError:
        print("dropped", flush=True)


def main():
    mode, url = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if mode == "echo":
        asyncio.run(echo(url))
    elif mode == "close":
        asyncio.run(close(url, int(args[0]), args[1] if len(args) > 1 else ""))
    elif mode == "recv":
        asyncio.run(recv(url, int(args[0]), float(args[1]) if len(args) > 1 else 5))
    elif mode == "send":
        asyncio.run(send(url, args))
    elif mode == "sendbin":
        asyncio.run(sendbin(url, args[0]))
    elif mode == "big":
        asyncio.run(big(url, int(args[0])))
    elif mode == "wait_close":
        asyncio.run(wait_close(url, float(args[0])))
    elif mode == "stalled":
        stalled(url, float(args[0]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
