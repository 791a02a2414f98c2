"""Fake bulk query operations: bulkOperationRunQuery, their status, and the JSONL result file.

An operation is CREATED, RUNNING at its first status poll (`node(id:)` or
`currentBulkOperation`) and finishes at the `polls`-th (2 unless set): COMPLETED with a `url` on
this fake's own HTTP app, or FAILED with the `errorCode` injected by `fail_next_operation`. Like
Shopify, one query operation runs per shop at a time (OPERATION_IN_PROGRESS), the file is a
snapshot of the shop's orders when the operation finished, a connection inside an order becomes
lines of its own naming the order in `__parentId` while list fields stay inline, and the URL is
pre-signed storage that takes no access token. The queries go through the fake's cost bucket like
every other field.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fake_shopify.server import FakeShopify

_ids = itertools.count(1)
UNFINISHED = ("CREATED", "RUNNING")


def bulk_state(fake: FakeShopify, shop: str) -> dict[str, Any]:
    """{operations: {gid: op}, files: {name: bytes}, downloads: [request headers], ...}."""
    return fake.shop_state(shop).setdefault(
        "bulk", {"operations": {}, "files": {}, "downloads": [], "polls": 2, "fail_next": None}
    )


def fail_next_operation(fake: FakeShopify, shop: str, error_code: str) -> None:
    """The shop's next operation ends FAILED with `error_code` (ACCESS_DENIED, TIMEOUT, ...)."""
    bulk_state(fake, shop)["fail_next"] = error_code


def start_foreign_operation(fake: FakeShopify, shop: str) -> str:
    """Another caller's query operation that keeps running: it blocks new ones."""
    op = _new(fake, shop, query="{ products { edges { node { id } } } }")
    op["status"], op["polls"] = "RUNNING", -(10**9)
    return op["id"]


def expire_operation(fake: FakeShopify, shop: str, operation_id: str) -> None:
    """Seven days later: the result file is gone."""
    op = bulk_state(fake, shop)["operations"][operation_id]
    op["status"], op["url"] = "EXPIRED", None


def operations(fake: FakeShopify, shop: str) -> list[dict[str, Any]]:
    return list(bulk_state(fake, shop)["operations"].values())


def _new(fake: FakeShopify, shop: str, query: str) -> dict[str, Any]:
    state = bulk_state(fake, shop)
    op = {
        "id": f"gid://shopify/BulkOperation/{next(_ids)}",
        "status": "CREATED",
        "type": "QUERY",
        "query": query,
        "errorCode": None,
        "objectCount": "0",
        "rootObjectCount": "0",
        "url": None,
        "partialDataUrl": None,
        "polls": 0,
        "fail": state["fail_next"],
    }
    state["fail_next"] = None
    state["operations"][op["id"]] = op
    return op


def _refused(code: str, message: str) -> dict[str, Any]:
    return {"bulkOperation": None, "userErrors": [{"field": ["query"], "message": message, "code": code}]}


def _run_query(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any]:
    query = args.get("query", "")
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _refused("INVALID", f"Invalid bulk query: {exc.message}")
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    roots = [f for f in operation.selection_set.selections if isinstance(f, FieldNode)]
    if [r.name.value for r in roots] != ["orders"] or not _is_connection(roots[0]):
        return _refused("INVALID", "Bulk queries must contain at least one connection.")
    running = [op for op in operations(fake, shop) if op["status"] in UNFINISHED]
    if running:
        return _refused(
            "OPERATION_IN_PROGRESS",
            f"A bulk query operation for this app and shop is already in progress: {running[0]['id']}.",
        )
    op = _new(fake, shop, query)
    return {"bulkOperation": _view(op), "userErrors": []}


def _is_connection(field: FieldNode) -> bool:
    selections = field.selection_set.selections if field.selection_set else ()
    return any(isinstance(s, FieldNode) and s.name.value in ("edges", "nodes") for s in selections)


def _poll(fake: FakeShopify, shop: str, op: dict[str, Any]) -> dict[str, Any]:
    """What a status query sees, advancing the operation one step."""
    if op["status"] in UNFINISHED:
        op["polls"] += 1
        op["status"] = "RUNNING"
        if op["polls"] >= bulk_state(fake, shop)["polls"]:
            _finish(fake, shop, op)
    return _view(op)


def _finish(fake: FakeShopify, shop: str, op: dict[str, Any]) -> None:
    if op["fail"]:
        op["status"], op["errorCode"] = "FAILED", op["fail"]
        return
    lines = [line for order in fake.shop_state(shop).get("orders", []) for line in _flatten(order, None)]
    op["status"], op["objectCount"] = "COMPLETED", str(len(lines))
    op["rootObjectCount"] = str(len(fake.shop_state(shop).get("orders", [])))
    if lines:  # Shopify gives no url when the query found nothing
        name = f"{op['id'].rsplit('/', 1)[1]}.jsonl"
        bulk_state(fake, shop)["files"][name] = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        op["url"] = f"{fake.url}/bulk-results/{shop}/{name}?signature={secrets.token_hex(8)}"


def _flatten(node: dict[str, Any], parent: str | None) -> list[dict[str, Any]]:
    """One object's JSONL lines: itself, then each connection's nodes with `__parentId`."""
    own = {k: v for k, v in node.items() if not (isinstance(v, dict) and "edges" in v)}
    if parent:
        own["__parentId"] = parent
    children = [
        line
        for v in node.values()
        if isinstance(v, dict) and "edges" in v
        for edge in v["edges"]
        for line in _flatten(edge["node"], node["id"])
    ]
    return [own, *children]


def _view(op: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in op.items() if k not in ("polls", "fail")}


def _node(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any] | None:
    op = bulk_state(fake, shop)["operations"].get(args.get("id"))
    return _poll(fake, shop, op) if op else None


def _current(fake: FakeShopify, shop: str, args: dict[str, Any]) -> dict[str, Any] | None:
    ops = [op for op in operations(fake, shop) if op["type"] == args.get("type", "QUERY")]
    return _poll(fake, shop, ops[-1]) if ops else None


def install(fake: FakeShopify) -> FakeShopify:
    async def result_file(request: Request) -> Response:
        shop, name = request.path_params["shop"], request.path_params["name"]
        state = bulk_state(fake, shop)
        state["downloads"].append(dict(request.headers))
        body = state["files"].get(name)
        if body is None or "signature" not in request.query_params:
            return Response("AccessDenied", status_code=403)
        return Response(body, media_type="application/jsonl")

    fake.resolvers.update(bulkOperationRunQuery=_run_query, node=_node, currentBulkOperation=_current)
    fake.routes.append(Route("/bulk-results/{shop}/{name}", result_file))
    return fake
