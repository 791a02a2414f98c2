"""`storepulse` command: run one service, or the whole embedded stack with `dev`."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from typing import Any

import uvicorn

from storepulse.logging import configure_logging
from storepulse.settings import Settings, get_settings
from storepulse.shops_cli import add_arguments as add_shops_arguments
from storepulse.shops_cli import cmd_shops

DEV_SECRET = "storepulse-dev-secret"


def _serve(factory: str, port: int, settings: Settings, workers: int) -> None:
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=port,
        workers=workers,
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
    configure_logging(settings.log_level)
    return create_app(settings)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> None:
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

    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True, override_logging=False)
    worker.execute_from_commandline()


def cmd_topics(_: argparse.Namespace, settings: Settings) -> None:
    from storepulse.kafka_topics import ensure_topics

    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, settings.kafka_partitions))
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


def cmd_dev(_: argparse.Namespace, settings: Settings) -> None:
    from storepulse.devstack import Stack, wait_ready

    env = {k: v for k, v in os.environ.items() if k in ("KAFKA_URL", "REDIS_URL") and v}
    secret = settings.shopify_api_secret.get_secret_value() or DEV_SECRET
    env["SHOPIFY_API_SECRET"] = secret
    env["STOREPULSE_DEV_AUTO_INSTALL"] = "true"
    # The admin API refuses everything without a token: give the dev stack a fresh one.
    admin_token = settings.admin_token.get_secret_value() or secrets.token_urlsafe(16)
    env["STOREPULSE_ADMIN_TOKEN"] = admin_token
    stack = Stack(env=env)
    print("starting broker and Redis…", flush=True)
    # Process-wide handlers, not the event loop's: asyncio puts back the default disposition
    # (death, for SIGTERM) when a loop closes, and SIGTERM must also stop a launcher still
    # starting up. The first signal unwinds whatever runs into the `finally` below.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _first_stop_signal)
    try:
        stack.start_infra(settings.kafka_partitions)
        asyncio.run(_register_demo_shop(settings.demo_shop, stack.env))
        services = [
            stack.start_service("ingest", settings.ingest_port),
            stack.start_service("worker", settings.worker_port),
            stack.start_service("push", settings.push_port),
        ]
        for child in services:
            took = wait_ready(child.port, 60, child)
            print(f"{child.name:<7} ready on http://{settings.host}:{child.port} ({took:.1f}s)", flush=True)
        if not settings.admin_token.get_secret_value():
            admin_url = f"http://{settings.host}:{settings.worker_port}/shops/…"
            print(f"admin API:  {admin_url} (bearer token {admin_token})", flush=True)
        asyncio.run(_dev_foreground(settings, secret.split(",")[0].encode()))
    except KeyboardInterrupt:
        pass  # how `dev` is meant to end
    finally:
        _ignore_stop_signals()  # also when stopping because starting failed
        stack.stop()
        print("stopped", flush=True)


async def _register_demo_shop(shop: str, env: dict[str, str]) -> None:
    """The demo shop is installed like any other, so ingest takes its webhooks."""
    from storepulse.shops import open_registry

    dev = Settings(REDIS_URL=env["REDIS_URL"], SHOPIFY_API_SECRET=env["SHOPIFY_API_SECRET"])
    registry = open_registry(dev)
    try:
        await registry.install(shop, "dev-token-not-a-real-shop")
    finally:
        await registry.aclose()


async def _dev_foreground(settings: Settings, secret: bytes) -> None:
    """Runs until a stop signal raises KeyboardInterrupt out of the loop, which then cancels
    the simulator."""
    shop = settings.demo_shop
    print(f"\ndemo store: http://{settings.host}:{settings.push_port}/demo/{shop}", flush=True)
    print(f"webhooks:   POST http://{settings.host}:{settings.ingest_port}/webhooks/shopify", flush=True)
    tasks = []  # the loop holds tasks weakly
    if settings.simulator:
        from loadtests.simulator import simulate

        print(
            "simulator:  sending signed orders/create webhooks (STOREPULSE_SIMULATOR=0 stops it)", flush=True
        )
        tasks.append(
            asyncio.create_task(simulate(f"http://{settings.host}:{settings.ingest_port}", shop, secret))
        )
    print("Ctrl-C stops everything.", flush=True)
    await asyncio.get_running_loop().create_future()


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> None:
    from ingest.backfill import run
    from ingest.producer import BrokerUnavailable
    from shopify.admin import AdminApiError, Retryable

    try:
        produced = asyncio.run(run(args.shop, settings))
    except (AdminApiError, Retryable, BrokerUnavailable) as exc:
        # What was produced stays produced; the saved progress lets the next run resume.
        print(f"{args.shop}: backfill stopped: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"{args.shop}: {produced} orders produced", flush=True)


COMMANDS = {
    "dev": (cmd_dev, "run broker, Redis, ingest, worker, push and the simulator"),
    "ingest": (cmd_ingest, "run the webhook ingest server"),
    "worker": (cmd_worker, "run one Faust stream worker"),
    "push": (cmd_push, "run the SSE push server"),
    "topics": (cmd_topics, "create the Kafka topics of the contract"),
    "shops": (cmd_shops, "manage the shop registry: add | list | remove"),
    "backfill": (cmd_backfill, "import a shop's existing orders (resumable; bulk operation if large)"),
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
        if name == "backfill":
            p.add_argument("shop", help="the shop domain, e.g. example.myshopify.com")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    COMMANDS[args.command][0](args, settings)
    sys.exit(0)
