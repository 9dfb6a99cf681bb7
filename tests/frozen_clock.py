"""The instant the whole test session runs at.

Every test runs under time-machine from this instant on (the clock ticks, so
timeouts and rate-limit windows still pass): results never depend on the day the
suite is run. TEST_NOW=2027-01-01T08:00:00+07:00 runs the suite on another day,
which is how a date-dependent bug is reproduced. Tests about particular days move
the clock themselves (time_machine.travel) or pass `today` explicitly."""
from __future__ import annotations

import os
from datetime import datetime

import time_machine

from workflow_app.clock import VN_TZ

# A Wednesday in the present programme period, mid-morning in Vietnam.
NOW = datetime.fromisoformat(os.environ.get("TEST_NOW") or "2026-12-09T10:00:00+07:00").astimezone(VN_TZ)
TODAY = NOW.date()
YEAR = NOW.year

_traveller = time_machine.travel(NOW, tick=True)


def start() -> None:
    _traveller.start()


def stop() -> None:
    _traveller.stop()
