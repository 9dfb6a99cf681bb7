"""The instant the whole test session runs at.

Every test runs under time-machine from this instant on (the clock ticks, so
timeouts and rate-limit windows still pass): results never depend on the day the
suite is run. TEST_NOW=2024-11-20T10:00:00+07:00 runs the suite on another day
of the district era (up to 2025-06-30: most tests act with district roles), which
is how a date-dependent bug is reproduced. Tests about particular days move
the clock themselves (time_machine.travel) or pass `today` explicitly."""
from __future__ import annotations

import os
from datetime import datetime

import time_machine

from workflow_app.clock import VN_TZ

# A Wednesday of the district era (before the 2025 reform), mid-morning in Vietnam:
# most tests walk the district's road. Tests of the present (communes and province
# since 2025-07-01) travel to AFTER_REFORM themselves.
NOW = datetime.fromisoformat(os.environ.get("TEST_NOW") or "2025-06-11T10:00:00+07:00").astimezone(VN_TZ)
TODAY = NOW.date()
YEAR = NOW.year

# A Wednesday of the present era: new communes, the province, the 2026-2030 programme.
AFTER_REFORM = datetime.fromisoformat(
    os.environ.get("TEST_AFTER_REFORM") or "2026-12-09T10:00:00+07:00").astimezone(VN_TZ)

_traveller = time_machine.travel(NOW, tick=True)


def start() -> None:
    _traveller.start()


def stop() -> None:
    _traveller.stop()
