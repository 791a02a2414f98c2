"""A live channel message's webhook id reaches push's logs, never a client."""

from push.frames import Event
from storepulse.contracts import Notification
from streams.runtime.publisher import webhook_id_field


def payload() -> bytes:
    note = Notification(
        id="n1",
        shop="a.myshopify.com",
        kind="purchase",
        title="t",
        message="m",
        occurred_at="2026-11-27T10:00:00Z",
        webhook_id="b2c8e0f2-8e9f-4a8e-9d6c-1f0e2d3c4b5a",
    )
    return note.model_dump_json().encode()


def test_the_webhook_id_is_never_serialized_with_the_notification() -> None:
    assert b"webhook_id" not in payload() and b"b2c8e0f2" not in payload()


def test_a_live_message_frames_as_its_replayed_entry_and_keeps_its_webhook_id_for_the_log() -> None:
    webhook = webhook_id_field("b2c8e0f2-8e9f-4a8e-9d6c-1f0e2d3c4b5a").encode()
    live = Event(b'{"event_id":"17-0",' + webhook + payload()[1:])  # as the publish script splices it
    replayed = Event.from_entry(b"17-0", payload())
    assert live.data == replayed.data and b"webhook_id" not in live.data
    assert live.webhook_id == "b2c8e0f2-8e9f-4a8e-9d6c-1f0e2d3c4b5a" and replayed.webhook_id is None


def test_an_id_that_would_need_escaping_is_left_out_of_the_channel_message() -> None:
    assert webhook_id_field('x","kind":"evil') == ""
    assert webhook_id_field(None) == ""
