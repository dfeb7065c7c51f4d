#!/usr/bin/python3
"""A publish endpoint that takes its time: every POST is answered 202 after
DELAY seconds, and logged as one line 'POST <n>' on stdout when it arrives.
Usage: slow_publish.py PORT DELAY"""
import asyncio
import sys

from aiohttp import web


async def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    count = 0

    async def publish(request):
        nonlocal count
        await request.read()
        count += 1
        print("POST", count, flush=True)
        await asyncio.sleep(delay)
        return web.Response(status=202, text="queued\n")

    app = web.Application()
    app.router.add_post("/publish", publish)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


asyncio.run(main())
