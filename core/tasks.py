import time

from celery import shared_task
from django.core.cache import cache

from core import outbox

# When beat's relay_outbox last ran (epoch seconds), in the cache every process shares (Redis in
# production): /metrics reports its age, `manage.py beat_health` fails when it is too old.
BEAT_TICK_KEY = "core:beat-tick"


def last_beat_tick() -> float | None:
    """Epoch seconds of the last relay_outbox run, or None when none was recorded."""
    value = cache.get(BEAT_TICK_KEY)
    return float(value) if value is not None else None


@shared_task(acks_late=True)
def relay_outbox() -> int:
    """Every OUTBOX_RELAY_SECONDS (beat): recover work whose message was lost, publish what is pending."""
    cache.set(BEAT_TICK_KEY, time.time(), timeout=None)
    outbox.sweep()
    return outbox.relay()
