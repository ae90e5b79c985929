"""An AirDC++ extension written in Python with aiohttp's client, for the python3 engine.

It reads AirDC++'s startup arguments, uses REST (Authorization: Bearer) to check the API,
define its settings and signal ready, and a WebSocket (sessions/socket) for what is pushed:
it rejects incoming hub chat that contains its "blocked_word" setting, answers "/pyping" in a
hub window with a status message (its "reply" setting), and follows changes of its
settings. It exits when the application's process (--appPid) is gone (69), when asked to
stop (SIGTERM: 0), and when its socket closes (124: please restart me).
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import sys

import aiohttp

DEFINITIONS = [
    {"key": "blocked_word", "title": "Blocked word", "type": "string",
     "default_value": "pyword"},
    {"key": "reply", "title": "Answer to /pyping", "type": "string",
     "default_value": "pong from python"},
]


def parse_args():
    p = argparse.ArgumentParser(allow_abbrev=False)
    for name in ("name", "apiUrl", "authToken", "logPath", "settingsPath"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--appPid", type=int)
    p.add_argument("--debug", action="store_true")
    p.add_argument("--signalReady", action="store_true")
    return p.parse_args()


class Extension:
    def __init__(self, args, http):
        self.args = args
        self.http = http
        self.base = f"http://{args.apiUrl}"
        self.headers = {"Authorization": f"Bearer {args.authToken}"}
        self.settings = {}
        self.ids = itertools.count(1)
        self.waiting = {}
        self.ws = None

    async def rest(self, method, path, data=None):
        async with self.http.request(method, self.base + path, json=data,
                                     headers=self.headers) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path}: {resp.status} {text}")
            return json.loads(text) if text else None

    async def request(self, method, path, data=None):
        callback_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.waiting[callback_id] = future
        await self.ws.send_json({"method": method, "path": path, "data": data,
                                 "callback_id": callback_id})
        reply = await asyncio.wait_for(future, 10)
        if reply.get("code", 200) >= 400:
            raise RuntimeError(f"{method} {path}: {reply['error']['message']}")
        return reply.get("data")

    async def start(self):
        info = await self.rest("GET", "system/system_info")
        if info["api_feature_level"] < 7:
            raise RuntimeError("API feature level 7 is needed")
        name = self.args.name
        await self.rest("POST", f"extensions/{name}/settings/definitions", DEFINITIONS)
        self.settings = await self.rest("GET", f"extensions/{name}/settings")
        self.ws = await self.http.ws_connect(self.base.replace("http", "ws", 1))
        asyncio.get_running_loop().create_task(self.read())
        await self.request("POST", "sessions/socket", {"auth_token": self.args.authToken})
        await self.request("POST", "hubs/hooks/hub_incoming_message_hook",
                           {"id": "pyhost_python", "name": "pyhost Python extension"})
        await self.request("POST", "hubs/listeners/hub_text_command")
        await self.request("POST", f"extensions/{name}/listeners/extension_settings_updated")
        if self.args.signalReady:
            await self.rest("POST", f"extensions/{name}/ready")
        print(f"python extension ready, settings {json.dumps(self.settings)}", flush=True)

    async def read(self):
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if "callback_id" in frame:
                future = self.waiting.pop(frame["callback_id"], None)
                if future is not None and not future.done():
                    future.set_result(frame)
            elif "event" in frame:
                asyncio.get_running_loop().create_task(self.on_event(frame))
        print("socket closed", file=sys.stderr, flush=True)
        os._exit(124)

    async def on_event(self, frame):
        event, data = frame["event"], frame.get("data")
        if event == "hub_incoming_message_hook":
            base = f"hubs/hooks/hub_incoming_message_hook/{frame['completion_id']}"
            if self.settings["blocked_word"] in data["text"]:
                await self.request("POST", base + "/reject",
                                   {"reject_id": "blocked", "message": "blocked word"})
            else:
                await self.request("POST", base + "/resolve")
        elif event == "hub_text_command" and data["command"] == "pyping":
            await self.request("POST", f"hubs/{frame['id']}/status_message",
                               {"text": self.settings["reply"], "severity": "info"})
        elif event == "extension_settings_updated":
            self.settings.update(data)
            print(f"settings updated {json.dumps(data)}", flush=True)


async def watch_parent(pid):
    while True:
        await asyncio.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"parent {pid} is gone", file=sys.stderr, flush=True)
            os._exit(69)


async def main():
    args = parse_args()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: os._exit(0))
    if args.appPid:
        loop.create_task(watch_parent(args.appPid))
    async with aiohttp.ClientSession() as http:
        await Extension(args, http).start()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
