"""`storepulse` command: run one service, or the whole embedded stack with `dev`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from typing import TYPE_CHECKING, Any

import uvicorn

from storepulse import metrics_registry
from storepulse.dlq_cli import add_arguments as add_dlq_arguments
from storepulse.dlq_cli import cmd_dlq
from storepulse.logging import configure_logging
from storepulse.settings import MissingSecret, Settings, get_settings
from storepulse.shops_cli import add_arguments as add_shops_arguments
from storepulse.shops_cli import cmd_shops

if TYPE_CHECKING:
    from storepulse.console import Console
    from storepulse.devstack import Stack

DEV_SECRET = "storepulse-dev-secret"
# The app's API key under `storepulse dev` (the audience of the demo shop's session token).
DEV_API_KEY = "storepulse-dev"


def _serve(factory: str, port: int, settings: Settings, workers: int) -> None:
    metrics_registry.prepare(workers)  # one /metrics for all N processes
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=port,
        workers=workers,
        # Client addresses (per-IP limits) come from X-Forwarded-For only when the proxy sent it.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Named, not "auto": the C event loop and parser are what the throughput figures in
        # docs/ingest-profile.md were measured with, so a missing extra fails loudly.
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def ingest_app() -> Any:
    """uvicorn's factory for ingest. With `--workers N` each process is spawned afresh and
    imports only this, so logging is set up here as well as in `main`."""
    from ingest.app import create_app

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> None:
    from storepulse.shops import token_cipher

    token_cipher(settings)  # here, not in each uvicorn worker's factory: one clear refusal
    _serve("storepulse.cli:ingest_app", settings.ingest_port, settings, args.workers)


def cmd_push(args: argparse.Namespace, settings: Settings) -> None:
    # Not a factory here like ingest's: push.app must be imported before uvicorn installs its
    # signal handlers (uvicorn imports an app string's module first), for sse-starlette's
    # SIGTERM hook that starts the drain.
    _serve("push.app:create_app", settings.push_port, settings, args.workers)


def cmd_worker(_: argparse.Namespace, settings: Settings) -> None:
    import faust
    import uvloop

    # Before Faust makes its loops (the agents' and the consumer thread's): uvloop's are cheaper
    # per callback, future and socket write, which is most of the worker's overhead per record.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    from streams.app import create_app
    from streams.runtime import stores

    app = create_app(settings)
    tabledir = app.conf.tabledir
    stores.open_tables(tabledir, settings.worker_store)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True, override_logging=False)
    worker.spinner = None  # it writes cursor escapes to stdout even when that is not a terminal
    try:
        worker.execute_from_commandline()
    except SystemExit as exit:
        if exit.code in (0, None) and stores.all_acked(app):
            stores.mark_clean_stop(tabledir)
        raise


def cmd_topics(_: argparse.Namespace, settings: Settings) -> None:
    from storepulse.kafka_topics import ensure_topics

    created = asyncio.run(
        ensure_topics(settings.kafka_bootstrap, settings.kafka_partitions, settings.audit_retention_days)
    )
    print("created: " + (", ".join(created) or "nothing, all topics exist"))


# What stops `storepulse dev`: Ctrl-C, and SIGTERM from `make`, `kill` or a container runtime.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore_stop_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _first_stop_signal(signum: int, frame: object) -> None:
    # A stop signal rarely comes alone: `make run` gets the process group's SIGTERM and then
    # make's own, and people press Ctrl-C twice. Later ones are ignored, so none can kill the
    # launcher while it stops its children.
    _ignore_stop_signals()
    raise KeyboardInterrupt


# Who the launcher's console shows lines from: its children, and itself ("dev": the simulator).
CONSOLE_NAMES = ("tansu", "redis", "ingest", "worker", "push", "dev")


def cmd_dev(_: argparse.Namespace, settings: Settings) -> None:
    from storepulse.console import Console
    from storepulse.devstack import Stack, wait_ready
    from storepulse.logging import colors_wanted, console_wanted

    env = {k: v for k, v in os.environ.items() if k in ("KAFKA_URL", "REDIS_URL") and v}
    # On a terminal each child's lines show under its name, one short line per event; otherwise
    # (or with LOG_FORMAT=json) the children's JSON lines go straight through, as in production.
    labelled = console_wanted(settings.log_format, sys.stdout)
    colors = labelled and colors_wanted(sys.stdout)
    console = Console(CONSOLE_NAMES, sys.stdout, colors=colors)
    env["LOG_FORMAT"] = "console" if labelled else "json"
    if colors:
        env["FORCE_COLOR"] = "1"  # the children write to a pipe, which the console shows in colour
    configure_logging(settings.log_level, env["LOG_FORMAT"], console.stream("dev") if labelled else None)
    # The launcher's own HTTP calls (readiness polls, the simulator's webhooks) are not news.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    secret = settings.shopify_api_secret.get_secret_value() or DEV_SECRET
    env["SHOPIFY_API_KEY"] = settings.shopify_api_key or DEV_API_KEY
    env["SHOPIFY_API_SECRET"] = secret
    env["STOREPULSE_DEV_AUTO_INSTALL"] = "true"
    # The admin API refuses everything without a token: give the dev stack a fresh one.
    admin_token = settings.admin_token.get_secret_value() or secrets.token_urlsafe(16)
    env["STOREPULSE_ADMIN_TOKEN"] = admin_token
    stack = Stack(env=env, console=console if labelled else None)
    console.say("starting broker and Redis…")
    # Process-wide handlers, not the event loop's: asyncio puts back the default disposition
    # (death, for SIGTERM) when a loop closes, and SIGTERM must also stop a launcher still
    # starting up. The first signal unwinds whatever runs into the `finally` below.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _first_stop_signal)
    try:
        stack.start_infra(settings.kafka_partitions)
        asyncio.run(_register_demo_shop(settings.demo_shop, stack))
        services = [
            stack.start_service("ingest", settings.ingest_port),
            stack.start_service("worker", settings.worker_port),
            stack.start_service("push", settings.push_port),
        ]
        for child in services:
            took = wait_ready(child.port, 60, child)
            console.say(f"{child.name:<7} ready on http://{settings.host}:{child.port} ({took:.1f}s)")
        worker_url = f"http://{settings.host}:{settings.worker_port}"
        _demo_shop_writes_no_tags(settings.demo_shop, worker_url, admin_token)
        if not settings.admin_token.get_secret_value():
            console.say(f"admin API:  {worker_url}/shops/… (bearer token {admin_token})")
        asyncio.run(_dev_foreground(settings, secret.split(",")[0].encode(), console))
    except KeyboardInterrupt:
        pass  # how `dev` is meant to end
    finally:
        _ignore_stop_signals()  # also when stopping because starting failed
        stack.stop()
        console.say("stopped")


async def _register_demo_shop(shop: str, stack: Stack) -> None:
    """The demo shop is installed like any other, so ingest takes its webhooks."""
    from storepulse.shops import open_registry

    registry = open_registry(stack.settings())
    try:
        await registry.install(shop, "dev-token-not-a-real-shop")
    finally:
        await registry.aclose()


def _demo_shop_writes_no_tags(shop: str, worker_url: str, admin_token: str) -> None:
    """No Shopify store stands behind the demo shop: its VIP tags are logged, not written (its
    other settings stay as they are, through the worker's admin API)."""
    import httpx

    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=worker_url, headers=headers, timeout=10) as client:
        path = f"/shops/{shop}/settings"
        current = client.get(path).raise_for_status().json()
        client.put(path, json={**current, "writeback_dry_run": True}).raise_for_status()


def admin_url(settings: Settings, secret: str) -> str:
    """The merchant's app for the demo shop, opened as Shopify's embedded launch opens it:
    `{ingest}/app/?shop={shop}&id_token={a session token signed with secret, valid 12 h}`;
    `make run` prints it beside the demo store's URL."""
    from admin.session import dev_session_token

    shop = settings.demo_shop
    token = dev_session_token(shop, settings.shopify_api_key or DEV_API_KEY, secret)
    return f"http://{settings.host}:{settings.ingest_port}/app/?shop={shop}&id_token={token}"


async def _dev_foreground(settings: Settings, secret: bytes, console: Console) -> None:
    """Runs until a stop signal raises KeyboardInterrupt out of the loop, which then cancels
    the simulator."""
    from push.app import DEMO_ASSETS_PATH

    shop = settings.demo_shop
    push_url = f"http://{settings.host}:{settings.push_port}"
    console.say(f"\ndemo store: {push_url}/demo/{shop}")
    console.say(f"admin:      {admin_url(settings, secret.decode())}")
    console.say(f"webhooks:   POST http://{settings.host}:{settings.ingest_port}/webhooks/shopify")
    tasks = []  # the loop holds tasks weakly
    if settings.simulator:
        from loadtests.simulator import simulate

        console.say("simulator:  sending signed orders/create webhooks (STOREPULSE_SIMULATOR=0 stops it)")
        ingest_url = f"http://{settings.host}:{settings.ingest_port}"
        images_url = push_url + DEMO_ASSETS_PATH
        tasks.append(asyncio.create_task(simulate(ingest_url, shop, secret, images_url=images_url)))
    console.say("Ctrl-C stops everything.")
    await asyncio.get_running_loop().create_future()


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> None:
    from ingest.backfill import run
    from ingest.producer import BrokerUnavailable
    from shopify.admin import AdminApiError, Retryable
    from storepulse.shops import UnreadableToken

    try:
        produced = asyncio.run(run(args.shop, settings))
    except (AdminApiError, Retryable, BrokerUnavailable, UnreadableToken) as exc:
        # What was produced stays produced; the saved progress lets the next run resume.
        print(f"{args.shop}: backfill stopped: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"{args.shop}: {produced} orders produced", flush=True)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> None:
    from ingest.sync_runs import DONE, run_command
    from storepulse.shops import UnreadableToken

    try:
        outcomes = asyncio.run(run_command(settings, args.shop, full=args.full))
    except UnreadableToken as exc:
        print(f"storepulse sync: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    for o in outcomes:
        line = f"{o.shop}: {o.state}"
        if o.run_id:
            repaired = "not checked" if o.subscriptions_repaired is None else len(o.subscriptions_repaired)
            line += f", {o.orders_fetched} orders read, subscriptions repaired: {repaired}"
        print(line + (f" ({o.error})" if o.error else ""), flush=True)
    if any(o.state != DONE for o in outcomes):
        sys.exit(1)


COMMANDS = {
    "dev": (cmd_dev, "run broker, Redis, ingest, worker, push and the simulator"),
    "ingest": (cmd_ingest, "run the webhook ingest server"),
    "worker": (cmd_worker, "run one Faust stream worker"),
    "push": (cmd_push, "run the SSE push server"),
    "topics": (cmd_topics, "create the Kafka topics of the contract"),
    "shops": (cmd_shops, "manage the shop registry: add | list | remove"),
    "backfill": (cmd_backfill, "import a shop's existing orders (resumable; bulk operation if large)"),
    "sync": (cmd_sync, "sync shops with Shopify now: orders updated since the last sync, subscriptions"),
    "dlq": (cmd_dlq, "the write-back's dead letters: list | replay [--shop S]"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storepulse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name in ("ingest", "push"):
            p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
        if name == "shops":
            add_shops_arguments(p)
        if name == "dlq":
            add_dlq_arguments(p)
        if name == "backfill":
            p.add_argument("shop", help="the shop domain, e.g. example.myshopify.com")
        if name == "sync":
            p.add_argument("--shop", help="only this shop (default: every installed shop)")
            p.add_argument("--full", action="store_true", help="read every order, not only recent changes")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        COMMANDS[args.command][0](args, settings)
    except MissingSecret as exc:
        print(f"storepulse {args.command}: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    sys.exit(0)
