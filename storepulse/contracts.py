"""What the services exchange besides the envelope: notifications, beacons and shop settings.

The contract is docs/architecture.md; the webhook envelope is storepulse/envelope.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SHOP_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com")
# Languages a shop may enable: every notification carries its text in each of them.
MAX_LANGUAGES = 10


def is_shop_domain(value: str) -> bool:
    """True for a syntactically valid `name.myshopify.com` domain (lower case)."""
    # fullmatch: `$` would also accept a trailing newline.
    return _SHOP_RE.fullmatch(value) is not None


class ProductRef(BaseModel):
    id: str
    title: str
    url: str | None = None
    image: str | None = None


class Actor(BaseModel):
    """The only facts about a buyer a storefront may see."""

    first_name: str | None = None
    city: str | None = None
    country_code: str | None = None


NotificationKind = Literal[
    "purchase", "trending", "viewing", "signup", "low_stock", "back_in_stock", "cart", "review", "visitors"
]
WidgetPosition = Literal["bottom-left", "bottom-right", "top-left", "top-right"]
# On a phone the toast spans the screen's width: only its edge is the merchant's to choose.
MobilePosition = Literal["bottom", "top"]
WidgetTheme = Literal["light", "dark", "custom"]
# At most this many URL patterns in each of a shop's include and exclude lists.
MAX_URL_PATTERNS = 20
# A path glob: `*` is any run of characters, `/` included (`/collections/*`, `*/sale`).
_URL_PATTERN = re.compile(r"[*/][A-Za-z0-9/*._~%+-]{0,199}")
_HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def _url_patterns(patterns: list[str]) -> list[str]:
    for p in patterns:
        if not _URL_PATTERN.fullmatch(p):
            raise ValueError(
                f"{p!r} is not a URL path pattern: start with / or *, at most 200 characters of"
                " letters, digits, / . _ ~ % + - and * (any characters), e.g. /collections/*"
            )
    return patterns


def _hex_colour(value: str) -> str:
    if not _HEX_COLOUR.fullmatch(value):
        raise ValueError(f"{value!r} is not a colour: write it as #rrggbb (or #rgb), e.g. #1a1a1a")
    return value.lower()


class Colours(BaseModel):
    """A custom theme's colours, as CSS hex."""

    model_config = ConfigDict(extra="forbid")

    background: str = "#ffffff"
    text: str = "#1a1a1a"
    accent: str = "#2f855a"  # the icons'

    _hex = field_validator("background", "text", "accent")(_hex_colour)


class Display(BaseModel):
    """How the shop wants its toasts shown, sent with each notification: the widget applies it
    to what follows unless its script tag pins an option (data-position, data-gap-ms, data-max).
    Times in ms; the fields after `max` came later, so a widget that predates them ignores them."""

    model_config = ConfigDict(extra="forbid")

    position: WidgetPosition
    gap_ms: int
    max: int
    mobile_position: MobilePosition = "bottom"
    devices: Literal["both", "desktop", "mobile"] = "both"
    pages: Literal["all", "products"] = "all"
    include: list[str] = []
    exclude: list[str] = []
    delay_ms: int = 0
    duration_ms: int = 6000
    jitter_ms: int = 0
    max_per_page: int = 10
    dismiss_pause_ms: int = 0
    # Higher shows first; kinds not named rank 0.
    priority: dict[NotificationKind, int] = {}
    # Older notifications of the kind are dropped, never shown late.
    max_age_s: dict[NotificationKind, int] = {}
    theme: WidgetTheme = "light"
    colours: Colours | None = None
    radius_px: int = 12
    font: Literal["theme", "system"] = "theme"


class Text(BaseModel):
    """A notification's words in one language."""

    model_config = ConfigDict(extra="forbid")

    title: str
    message: str


class Holdout(BaseModel):
    """What a storefront needs of a running experiment to hold a visitor out (streams/domain/arms.py)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    holdout_pct: int


class Notification(BaseModel):
    """What a storefront may see. Never email, last name, phone, address, order or customer id."""

    model_config = ConfigDict(extra="forbid")

    id: str
    shop: str
    kind: NotificationKind
    title: str
    message: str
    product: ProductRef | None = None
    actor: Actor | None = None
    occurred_at: datetime
    # BCP 47 language of title/message (the shop's default); the widget lays ar/he out right-to-left.
    lang: str = "en"
    # The same words in each language the shop enabled, the default's included: the widget
    # shows the one of the visitor's storefront locale (older widgets read title/message).
    messages: dict[str, Text] = Field(default_factory=dict, max_length=MAX_LANGUAGES)
    # Epoch milliseconds when streams published it: lets clients measure delivery latency.
    published_at: float | None = None
    display: Display | None = None
    # The running experiment's holdout: the widget shows nothing to the visitors it holds out.
    experiment: Holdout | None = None
    # The webhook delivery that caused it, for the worker's and push's log lines only: never
    # serialized, so neither the replay stream nor a storefront ever holds it.
    webhook_id: str | None = Field(None, exclude=True)


# A ghost impression is a toast the holdout arm of an experiment would have seen.
BeaconType = Literal["impression", "click", "dismiss", "page_view", "ghost_impression"]


class Beacon(BaseModel):
    """A widget beacon as ingest produces it to `widget.beacons` (key `{shop}`)."""

    model_config = ConfigDict(extra="forbid")

    shop: str
    type: BeaconType
    # Random id the widget keeps per browser (localStorage); never a customer id.
    visitor: str = Field(min_length=8, max_length=64)
    product_id: str | None = Field(None, max_length=32)
    notification_id: str | None = Field(None, max_length=64)
    # Chosen by the widget so a beacon resent from its offline queue is taken once (ingest drops
    # a repeated id); beacons without one are taken as they come.
    id: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    received_at: datetime


MAX_EVENT_BYTES = 4096


class ApiEvent(BaseModel):
    """The body of `POST /api/events` (the events API, docs/events-api.md). The shop is the key's,
    never the body's: a field `shop` is refused like any other unknown one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["review", "signup", "purchase", "custom"]
    idempotency_key: str = Field(min_length=1, max_length=128)
    occurred_at: datetime
    product_id: str | None = Field(None, max_length=32, pattern=r"^[0-9]+$")
    title: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=1000)
    rating: int | None = Field(None, ge=1, le=5)
    author: str | None = Field(None, max_length=80)
    city: str | None = Field(None, max_length=80)
    country_code: str | None = Field(None, pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _what_the_kind_needs(self) -> ApiEvent:
        if self.kind == "review":
            missing = [n for n in ("product_id", "rating", "message") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"a review needs {', '.join(missing)}")
        return self


class RfmThresholds(BaseModel):
    """Bounds for scores 5..2 (anything past the last bound scores 1); segments: streams/domain/rfm.py."""

    recency_days: list[int] = [30, 90, 180, 365]  # days since last order: fewer is better
    frequency: list[int] = [10, 5, 3, 2]  # orders: at least this many
    monetary: list[Decimal] = [Decimal(1000), Decimal(500), Decimal(200), Decimal(50)]  # net spent


class TierRule(BaseModel):
    """A customer holds the tier while they meet either bound (0 = bound not used).

    `ShopSettings.tiers` lists rules from lowest to highest; a customer holds the highest met.
    """

    name: str = "VIP"
    tag: str = "VIP"
    min_orders: int = 3
    min_spent: Decimal = Decimal(0)


class WidgetSettings(BaseModel):
    """Where, when and how the storefront widget shows toasts (the merchant's app sets them).
    The widget applies them (widget/storepulse.js); checkout, thank-you and account pages never
    show a toast, whatever these say."""

    model_config = ConfigDict(extra="forbid")

    position: WidgetPosition = "bottom-left"  # on screens 750 px wide and more
    mobile_position: MobilePosition = "bottom"  # below 750 px (Shopify's Dawn theme's breakpoint)
    devices: Literal["both", "desktop", "mobile"] = "both"
    pages: Literal["all", "products"] = "all"
    # Path globs: with any include pattern a page must match one; it must match no exclude one.
    include_urls: list[str] = Field([], max_length=MAX_URL_PATTERNS)
    exclude_urls: list[str] = Field([], max_length=MAX_URL_PATTERNS)
    delay_s: int = Field(3, ge=0, le=120)  # after the page loads, before its first toast
    duration_s: int = Field(6, ge=2, le=120)  # how long a toast stays
    gap_s: int = Field(8, ge=0, le=600)  # at least this long between two toasts
    gap_jitter_s: int = Field(0, ge=0, le=600)  # plus a random 0 to this many seconds
    max_per_page: int = Field(10, ge=1, le=100)  # toasts one page view sees at most
    max_per_session: int = Field(10, ge=1, le=100)  # toasts one visit sees at most
    dismiss_pause_s: int = Field(0, ge=0, le=24 * 3600)  # none after the visitor dismissed one
    priority: dict[NotificationKind, int] = {}  # 0 to 10, higher first; 0 when not named
    max_age_s: dict[NotificationKind, int] = {}  # per kind, 60 s to 30 days; no limit when not named
    theme: WidgetTheme = "light"
    colours: Colours = Colours()  # the custom theme's
    radius_px: int = Field(12, ge=0, le=24)
    font: Literal["theme", "system"] = "theme"  # the storefront theme's own font by default

    _include = field_validator("include_urls", "exclude_urls")(_url_patterns)

    @field_validator("priority")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, rank in value.items():
            if not 0 <= rank <= 10:
                raise ValueError(f"the priority of {kind} must be 0 to 10, not {rank}")
        return value

    @field_validator("max_age_s")
    @classmethod
    def _ages(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, age in value.items():
            if not 60 <= age <= 30 * 86400:
                raise ValueError(f"the maximum age of {kind} must be 60 s to 30 days, not {age} s")
        return value

    def display(self) -> Display:
        return Display(
            position=self.position,
            gap_ms=self.gap_s * 1000,
            max=self.max_per_session,
            mobile_position=self.mobile_position,
            devices=self.devices,
            pages=self.pages,
            include=self.include_urls,
            exclude=self.exclude_urls,
            delay_ms=self.delay_s * 1000,
            duration_ms=self.duration_s * 1000,
            jitter_ms=self.gap_jitter_s * 1000,
            max_per_page=self.max_per_page,
            dismiss_pause_ms=self.dismiss_pause_s * 1000,
            priority=self.priority,
            max_age_s=self.max_age_s,
            theme=self.theme,
            colours=self.colours if self.theme == "custom" else None,
            radius_px=self.radius_px,
            font=self.font,
        )


class Variant(BaseModel):
    """One arm of a template A/B test: its share of visitors and its template overrides."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 _-]+$")
    weight: int = Field(1, ge=1, le=100)
    # {lang: {kind: template}}, as `ShopSettings.templates`.
    templates: dict[str, dict[str, str]] = {}


class Experiment(BaseModel):
    """A holdout and/or template experiment; visitors are assigned by streams/domain/arms.py."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    started_at: datetime
    stopped_at: datetime | None = None
    # This share of visitors never sees a toast (the widget sends ghost impressions instead).
    holdout_pct: int = Field(0, ge=0, le=50)
    variants: list[Variant] = Field([], max_length=4)

    @model_validator(mode="after")
    def _distinct_names(self) -> Experiment:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "holdout" in names:
            raise ValueError("variant names must be distinct and not 'holdout'")
        return self


class AnalyticsSettings(BaseModel):
    """Attribution windows, the day boundary and the experiments of one shop."""

    model_config = ConfigDict(extra="forbid")

    # An order is attributed to an impression this long before it (view-through)…
    view_window_h: int = Field(24, ge=1, le=24 * 30)
    # …or to a click this long before it (click-through).
    click_window_d: int = Field(7, ge=1, le=30)
    # IANA zone of the shop's days (None: UTC).
    timezone: str | None = None
    experiment: Experiment | None = None
    # Experiments that ran before the current one: their results stay readable.
    past_experiments: list[Experiment] = Field([], max_length=50)

    def holdout(self) -> Holdout | None:
        exp = self.experiment
        if exp is None or exp.stopped_at is not None or not exp.holdout_pct:
            return None
        return Holdout(id=exp.id, holdout_pct=exp.holdout_pct)

    @model_validator(mode="after")
    def _known_zone(self) -> AnalyticsSettings:
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self


class ShopSettings(BaseModel):
    """Per-shop settings, the value of the compacted `shop.settings` topic (key `{shop}`)."""

    model_config = ConfigDict(extra="forbid")

    shop: str
    # Notification rules
    enabled_kinds: list[NotificationKind] = [
        "purchase",
        "trending",
        "viewing",
        "signup",
        "low_stock",
        "back_in_stock",
        "cart",
        "review",
        "visitors",
    ]
    min_order_value: Decimal = Decimal(0)
    excluded_products: list[str] = []
    buyer_display: Literal["first_name_city", "city", "anonymous"] = "first_name_city"
    max_purchase_age_s: int = 24 * 3600
    # BCP 47 tags of the storefront's languages (`Shopify.locale`'s), the default first.
    languages: list[str] = Field(["en"], min_length=1, max_length=MAX_LANGUAGES)
    # Per-language overrides of the built-in templates: {lang: {kind: template}}.
    templates: dict[str, dict[str, str]] = {}
    trending_thresholds: list[int] = [5, 10, 25, 50, 100]
    # "N people are viewing this now" only from this many distinct viewers in 5 minutes.
    viewing_min_viewers: int = 2
    # "Only 3 left": once each time a product's stock summed over locations falls to this or below.
    low_stock_threshold: int = Field(5, ge=1, le=1000)
    # "4 people have this in their cart" only from this many distinct carts in 30 minutes.
    cart_min: int = Field(2, ge=1, le=1000)
    # "128 shoppers on the store right now" only from this many distinct visitors in 5 minutes.
    visitors_min: int = Field(10, ge=1, le=1000)
    # Reviews (the events API) are shown from this many stars.
    review_min_rating: int = Field(4, ge=1, le=5)
    widget: WidgetSettings = WidgetSettings()
    # Customer intelligence
    rfm: RfmThresholds = RfmThresholds()
    tiers: list[TierRule] = [TierRule()]
    vip_dropoff_days: int = 365
    writeback_dry_run: bool = False
    analytics: AnalyticsSettings = AnalyticsSettings()
    updated_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_language_before_many(cls, data: Any) -> Any:
        """Settings from before `languages` (the compacted topic keeps them) had one `language`."""
        if isinstance(data, dict) and "language" in data and "languages" not in data:
            data = {**data, "languages": [data["language"]]}
            del data["language"]
        return data
