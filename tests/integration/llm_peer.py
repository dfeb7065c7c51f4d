#!/usr/bin/python3
"""A stand-in LLM API written with aiohttp, independent of evcat, for the
bench streams-as-requests test: it streams OpenAI-style chunks with known
delays, keeps connections alive between requests, and counts what it was
sent.

  llm_peer.py PORT FIRST_MS GAP_MS EVENTS

  POST /v1/chat/completions  EVENTS chunks (the body's max_tokens when
                             given), the first FIRST_MS after the request,
                             then one every GAP_MS; then data: [DONE]
  POST /error                one chunk, then `event: error`
  POST /status               503 with a JSON error
  POST /cut                  two chunks, then the response ends cleanly
                             without [DONE]
  POST /slow                 the head, then nothing for 30 s
  GET  /feed                 EVENTS chunks GAP_MS apart, then the end
                             (no [DONE]: a GET stream that simply ends)
  GET  /stats                what it saw, as JSON: requests, methods,
                             json_bodies, max_tokens (the last), connections
                             (distinct client ports), content_types
"""
import asyncio
import json
import sys

from aiohttp import web

PORT, FIRST_MS, GAP_MS, EVENTS = (int(a) for a in sys.argv[1:5])

stats = {"requests": 0, "methods": {}, "json_bodies": 0, "max_tokens": None,
         "content_types": {}, "connections": 0}
ports = set()


def chunk(i, text, finish=None):
    delta = {"content": text} if finish is None else {}
    if i == 0 and finish is None:
        delta = {"role": "assistant", "content": text}
    return "data: " + json.dumps({
        "id": "chatcmpl-peer", "object": "chat.completion.chunk", "created": 0,
        "model": "peer", "choices": [{"index": 0, "delta": delta,
                                      "finish_reason": finish}]}) + "\n\n"


async def count(request):
    stats["requests"] += 1
    stats["methods"][request.method] = stats["methods"].get(request.method, 0) + 1
    ct = request.headers.get("Content-Type", "")
    stats["content_types"][ct] = stats["content_types"].get(ct, 0) + 1
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if peer:
        ports.add(peer[1])
        stats["connections"] = len(ports)
    body = await request.read()
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        stats["json_bodies"] += 1
        if "max_tokens" in doc:
            stats["max_tokens"] = doc["max_tokens"]
    return doc


async def start(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp


async def completions(request):
    doc = await count(request)
    n = EVENTS
    if isinstance(doc, dict) and isinstance(doc.get("max_tokens"), int):
        n = min(n, doc["max_tokens"])
    resp = await start(request)
    await asyncio.sleep(FIRST_MS / 1000)
    for i in range(n):
        if i:
            await asyncio.sleep(GAP_MS / 1000)
        await resp.write(chunk(i, " tok%d" % i).encode())
    await asyncio.sleep(GAP_MS / 1000)
    await resp.write((chunk(n, "", "stop") + "data: [DONE]\n\n").encode())
    await resp.write_eof()
    return resp


async def error(request):
    await count(request)
    resp = await start(request)
    await resp.write(chunk(0, "hi").encode())
    await resp.write(b'event: error\ndata: {"error":{"message":"overloaded"}}\n\n')
    await resp.write_eof()
    return resp


async def status(request):
    await count(request)
    return web.json_response({"error": {"message": "busy"}}, status=503)


async def cut(request):
    await count(request)
    resp = await start(request)
    await resp.write((chunk(0, "a") + chunk(1, "b")).encode())
    await resp.write_eof()
    return resp


async def slow(request):
    await count(request)
    resp = await start(request)
    await asyncio.sleep(30)
    return resp


async def feed(request):
    await count(request)
    resp = await start(request)
    for i in range(EVENTS):
        await asyncio.sleep(GAP_MS / 1000)
        await resp.write(chunk(i, "f").encode())
    await resp.write_eof()
    return resp


async def get_stats(request):
    return web.json_response(stats)


app = web.Application()
app.add_routes([web.post("/v1/chat/completions", completions), web.post("/error", error),
                web.post("/status", status), web.post("/cut", cut), web.post("/slow", slow),
                web.get("/feed", feed), web.get("/stats", get_stats)])
web.run_app(app, host="127.0.0.1", port=PORT, print=None, access_log=None,
            shutdown_timeout=0.5)
