"""`storepulse shops add|list|remove`: manage the shop registry by hand (no tokens shown)."""

from __future__ import annotations

import argparse
import asyncio
import getpass

from storepulse.contracts import is_shop_domain
from storepulse.settings import Settings
from storepulse.shops import open_registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="register a shop as installed with its Admin API token")
    add.add_argument("shop", help="name.myshopify.com")
    add.add_argument("--token", help="Admin API access token (prompted for when omitted)")
    add.add_argument("--scopes", default="", help="granted scopes, comma-separated")
    sub.add_parser("list", help="list registered shops and their status")
    remove = sub.add_parser("remove", help="forget a shop entirely")
    remove.add_argument("shop")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "shop", None) and not is_shop_domain(args.shop.lower()):
        print(f"{args.shop}: not a name.myshopify.com domain")
        return 2
    registry = open_registry(settings)
    try:
        if args.action == "add":
            token = args.token or getpass.getpass("access token: ")
            shop = await registry.install(args.shop.lower(), token, args.scopes)
            print(f"{shop.domain} installed")
        elif args.action == "list":
            for shop in await registry.all():
                print(f"{shop.domain}\t{shop.status}\t{shop.installed_at}\t{shop.scopes}")
        elif not await registry.remove(args.shop.lower()):
            print(f"{args.shop}: not registered")
            return 1
        return 0
    finally:
        await registry.aclose()


def cmd_shops(args: argparse.Namespace, settings: Settings) -> None:
    raise SystemExit(asyncio.run(run(args, settings)))
