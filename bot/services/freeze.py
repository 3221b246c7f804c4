"""Give requests stored before rules were frozen (database revision 0001) their rules.

Run at start-up, after migrating: each such request gets the rules of its profile as
the config has it now (the closest record of what it was submitted under). A request
whose profile is gone is left unfrozen and is never given a default: it cannot be
approved or retried, only denied, cancelled or rolled back (bot/domain/policy.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.config import BotConfig
from bot.domain.ports import Clock
from bot.domain.rules import freeze
from bot.domain.storage import RequestStore

log = logging.getLogger(__name__)


@dataclass
class FreezeReport:
    frozen: list[int] = field(default_factory=list)
    profile_gone: list[int] = field(default_factory=list)


def freeze_legacy_requests(store: RequestStore, config: BotConfig, clock: Clock) -> FreezeReport:
    report = FreezeReport()
    for request in store.unfrozen():
        profile = config.profile(request.profile)
        if profile is None:
            report.profile_gone.append(request.id)
            continue
        rules = freeze(profile, config, console=request.console, programmatic=request.programmatic)
        if store.freeze(request.id, rules, clock.now()):
            report.frozen.append(request.id)
    if report.frozen:
        log.info(
            "froze the rules of %d request(s) stored before rules were frozen", len(report.frozen)
        )
    if report.profile_gone:
        log.warning(
            "request(s) %s name a profile that is no longer in the config: they can be "
            "denied, cancelled or rolled back, not approved",
            ", ".join(f"#{i}" for i in report.profile_gone),
        )
    return report
