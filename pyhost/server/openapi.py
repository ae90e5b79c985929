"""The OpenAPI 3 document of the REST part, made from the endpoint registry: every
endpoint that works over HTTP, with the permission it needs, its request body schema and
its error replies. Served at ``GET /api/v1/openapi.json`` (no login needed)."""
from __future__ import annotations

from typing import Any

from pyhost import __version__
from pyhost.server.routes import Call, Routes

ERROR = {"type": "object", "required": ["message"],
         "properties": {"message": {"type": "string"}, "field": {"type": "string"},
                        "code": {"type": "string"}}}


def document(routes: Routes) -> dict:
    paths: dict[str, dict] = {}
    for ep in routes.endpoints:
        if ep.socket_only:
            continue
        params = [{"name": seg[1:-1], "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}}
                  for seg in ep.segments if seg.startswith("{")]
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": f"{ep.method.lower()}_{ep.pattern.replace('/', '_')}"
                           .replace("{", "").replace("}", ""),
            "description": "No login needed." if ep.public else
            f"Needs a session{'' if ep.permission is None else ' with the '}"
            f"{ep.permission or ''}{'' if ep.permission is None else ' permission'}.",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": ep.response or {}}}},
                "204": {"description": "Done, no content"},
                "default": {"description": "A JSON error",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": ep.body}}}
        if not ep.public:
            op["security"] = [{"bearer": []}]
        paths.setdefault("/api/v1/" + ep.pattern, {})[ep.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "pyhost Web API", "version": __version__,
                 "description": "The AirDC++ Web API (REST part) as pyhost serves it."},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


class OpenApi:
    def __init__(self, server: Any):
        self.routes = server.routes
        server.routes.add("GET", "openapi.json", None, self.get,
                          "This document", public=True)

    async def get(self, call: Call) -> dict:
        return document(self.routes)


def register(server: Any) -> OpenApi:
    return OpenApi(server)
