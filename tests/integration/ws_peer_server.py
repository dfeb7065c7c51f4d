#!/usr/bin/python3
"""python3-websockets (Debian's 10.x) as a WebSocket server for evcat's
client tests: a peer nobody here wrote.

usage: ws_peer_server.py PORT [CERT KEY]   (with CERT KEY: wss)
paths: /echo        echo every message, text or binary
       /fragments   send one text message in three fragments, then close 1000
       /ping        ping the client, report whether the pong came, close 1000
       /restart     close with 1012 "service restart"
       /chat        requires subprotocol "chat" (others: the handshake fails)
"""
import asyncio
import ssl
import sys

import websockets


async def handler(ws, path):
    if path == "/echo":
        async for msg in ws:
            await ws.send(msg)
    elif path == "/fragments":
        await ws.send(iter(["frag", "ment", "ed"]))
        await ws.close(1000, "done")
    elif path == "/ping":
        waiter = await ws.ping(b"are you there")
        try:
            await asyncio.wait_for(waiter, 5)
            await ws.send("pong received")
        except asyncio.TimeoutError:
            await ws.send("no pong")
        await ws.close(1000)
    elif path == "/restart":
        await ws.send("going down")
        await ws.close(1012, "service restart")
    elif path == "/chat":
        await ws.send("subprotocol " + str(ws.subprotocol))
        await ws.close(1000)
    else:
        await ws.close(1008, "no such path")


async def main():
    port = int(sys.argv[1])
    ctx = None
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    async with websockets.serve(handler, "127.0.0.1", port, ssl=ctx, subprotocols=["chat"],
                                max_size=64 << 20, compression=None):
        await asyncio.Future()


asyncio.run(main())
