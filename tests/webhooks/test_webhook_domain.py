"""The webhook aggregates on their own: the backoff schedule, giving up after three days
(which disables the webhook), and scheduling the same events again, which schedules
nothing (the follower's position and the derived delivery ids)."""

from uuid import UUID

from astapa.app import AstapaApplication
from astapa.app.webhooks import DeliverySpec
from astapa.domain.webhooks import GAVE_UP, PENDING, WebhookDelivery, delivery_id
from astapa.second_factor import SeedBox

NOW = 1_800_000_000.0


def app(tmp_path) -> AstapaApplication:
    application = AstapaApplication(tmp_path / "events.db")
    application.webhook_box = SeedBox(b"k" * 32)
    return application


def webhook(application: AstapaApplication) -> str:
    created, _ = application.execute(application.create_webhook, "proj_a", "https://app.example/hook",
                                     ["user.created"], NOW, "api")
    return created["webhook_id"]


def test_retries_are_three_within_a_minute_then_further_apart_for_three_days():
    delivery = WebhookDelivery(webhook_id="0" * 32, project_id="proj_a", position=7, type="user.created", sub="1",
                               due_at=NOW)
    now, attempts = NOW, [NOW]
    while (next_at := delivery.next_attempt_at(now)) is not None:
        delivery.fail(status=500, error="answered 500", at=now, next_at=next_at)
        now = next_at
        attempts.append(now)
    assert attempts[2] - attempts[0] < 60 and attempts[3] - attempts[0] >= 60
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert gaps == sorted(gaps) and gaps[-1] == 36000.0
    assert attempts[-1] - NOW <= 3 * 24 * 3600 < attempts[-1] + 36000 - NOW
    assert len(attempts) == 13


def test_giving_up_disables_the_webhook_with_the_reason(tmp_path):
    application = app(tmp_path)
    webhook_id = webhook(application)
    spec = DeliverySpec(webhook_id, "proj_a", 10**6, "user.created", "1")
    application.execute(application.schedule_webhook_deliveries, [spec], 10**6, NOW)
    delivery = delivery_id(UUID(webhook_id), 10**6)
    application.execute(application.record_webhook_attempt, delivery, 500, "answered 500", NOW)
    assert application.repository.get(delivery).status == PENDING
    application.execute(application.record_webhook_attempt, delivery, None, "ConnectionRefused",
                        NOW + 3 * 24 * 3600)
    assert application.repository.get(delivery).status == GAVE_UP
    disabled = application.repository.get(UUID(webhook_id))
    last = list(application.repository.event_store.get(UUID(webhook_id)))[-1]
    assert disabled.disabled and "failed for three days" in last.reason


def test_the_same_events_are_scheduled_once(tmp_path):
    application = app(tmp_path)
    webhook_id = webhook(application)
    specs = [DeliverySpec(webhook_id, "proj_a", position, "user.created", "1") for position in (10**6, 10**6 + 1)]
    scheduled, _ = application.execute(application.schedule_webhook_deliveries, specs, 10**6 + 1, NOW)
    again, position = application.execute(application.schedule_webhook_deliveries, specs, 10**6 + 1, NOW)
    assert (scheduled, again, position) == (2, 0, 0)
    more = [*specs, DeliverySpec(webhook_id, "proj_a", 10**6 + 5, "user.created", "2")]
    assert application.execute(application.schedule_webhook_deliveries, more, 10**6 + 5, NOW)[0] == 1
    assert application.webhook_follower_position() == 10**6 + 5


def test_the_secret_is_only_sealed_in_the_log(tmp_path):
    application = app(tmp_path)
    created, _ = application.execute(application.create_webhook, "proj_a", "https://app.example/hook",
                                     ["user.created"], NOW, "api")
    stored = application.recorder.select_notifications(start=1, limit=100)
    assert created["secret"].startswith("whsec_")
    assert all(created["secret"].encode() not in n.state and created["secret"][6:].encode() not in n.state
               for n in stored)
    assert application.webhook_secret(UUID(created["webhook_id"])) == created["secret"]
