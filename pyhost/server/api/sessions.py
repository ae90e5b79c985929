"""``sessions``: logging in and out.

``POST sessions/authorize {username, password, grant_type?: "password", max_inactivity?}``
(or ``{grant_type: "refresh_token", refresh_token}``) makes a session and answers
``{auth_token, refresh_token, token_type, session_id, user, system_info}``; over a WebSocket it
also authorizes that socket. ``POST sessions/socket {auth_token}`` authorizes a socket with
an existing session (an unknown token is 400, so the official client logs in again; wrong
credentials are 401). ``DELETE sessions/self`` logs out, ``POST sessions/activity`` marks
activity, ``GET sessions/self`` describes the session; admins list (``GET sessions``) and end
(``DELETE sessions/<id>``) any session. ``max_inactivity`` is in minutes, as in AirDC++.
"""
from __future__ import annotations

import asyncio
from typing import Any

from pyhost.server.protocol import ApiError, body, choice, number, text
from pyhost.server.routes import Call

AUTH_SCHEMA = {"type": "object",
               "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                              "grant_type": {"type": "string",
                                             "enum": ["password", "refresh_token"]},
                              "refresh_token": {"type": "string"},
                              "max_inactivity": {"type": "number"}}}
SOCKET_SCHEMA = {"type": "object", "required": ["auth_token"],
                 "properties": {"auth_token": {"type": "string"}}}


class SessionsApi:
    def __init__(self, server: Any):
        self.server = server
        r = server.routes
        r.add("POST", "sessions/authorize", None, self.authorize, "Log in", public=True,
              body=AUTH_SCHEMA)
        r.add("POST", "sessions/socket", None, self.socket,
              "Authorize this WebSocket with a session token", public=True,
              socket_only=True, body=SOCKET_SCHEMA)
        r.add("DELETE", "sessions/self", None, self.logout, "Log out")
        r.add("POST", "sessions/activity", None, self.activity, "Mark the session active")
        r.add("GET", "sessions/self", None, self.current, "This session")
        r.add("GET", "sessions", "admin", self.list, "Every session")
        r.add("DELETE", "sessions/{id}", "admin", self.remove, "End a session")

    def reply(self, session: Any) -> dict:
        return {"auth_token": session.token, "refresh_token": session.refresh_token,
                "token_type": "Bearer", "session_id": session.id,
                "user": {**session.user.to_dict(), "active_sessions": sum(
                    1 for s in self.server.sessions.all() if s.user.name == session.user.name)},
                "system_info": self.server.modules["system"].info(),
                "wizard_pending": False}

    async def authorize(self, call: Call) -> dict:
        data = body(call.data)
        grant = choice(data, "grant_type", ("password", "refresh_token"), "password")
        minutes = number(data, "max_inactivity", None, 1, 7 * 24 * 60)
        inactivity = None if minutes is None else minutes * 60
        sessions, users = self.server.sessions, self.server.users
        loop = asyncio.get_running_loop()  # the users file and scrypt: not on the loop
        if grant == "refresh_token":
            old = sessions.take_refresh(text(data, "refresh_token", max_len=200))
            if old is None:
                raise ApiError(401, "The refresh token is not valid.")
            user = await loop.run_in_executor(self.server.executor, users.get, old.user.name)
            if user is None:
                raise ApiError(401, "The user of that refresh token no longer exists.")
        else:
            name = text(data, "username", max_len=64)
            password = text(data, "password", max_len=1024)
            user = await loop.run_in_executor(self.server.executor, users.authenticate,
                                              name, password)
            if user is None:
                raise ApiError(401, "Invalid username or password.")
        session = sessions.create(user, inactivity)
        if call.connection is not None:
            self.server.attach(call.connection, session)
        return self.reply(session)

    async def socket(self, call: Call) -> dict:
        data = body(call.data)
        session = self.server.sessions.by_token(text(data, "auth_token", max_len=200))
        if session is None:
            raise ApiError(400, "Invalid or expired session token.")
        self.server.attach(call.require_socket(), session)
        return self.reply(session)

    async def logout(self, call: Call) -> None:
        self.server.end_session(call.session)

    async def activity(self, call: Call) -> None:
        call.session.touch()

    async def current(self, call: Call) -> dict:
        return call.session.to_dict()

    async def list(self, call: Call) -> list:
        return [s.to_dict() for s in self.server.sessions.all()]

    async def remove(self, call: Call) -> None:
        for session in self.server.sessions.all():
            if str(session.id) == call.params["id"]:
                self.server.end_session(session)
                return None
        raise ApiError(404, f"There is no session {call.params['id']}.")


def register(server: Any) -> SessionsApi:
    return SessionsApi(server)
