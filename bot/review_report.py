"""`aws-access-bot audit --review ID`: one access review as a report for an auditor
(bot/domain/reviews.py renders it): the grants reviewed, with their last use, who
decided what and when (or the deadline policy), how each revoke ended, and the audit
events that record the review."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.container import Container
from bot.domain.reviews import render_report


def print_review(container: Container, review_id: int, out: TextIO) -> int:
    """Write the report of review `review_id` to `out`; 1 (and a line on stderr) when
    there is no such review."""
    store = container.stores.reviews
    state = store.get_review(review_id)
    if state is None:
        print(f"audit --review: there is no access review #{review_id}", file=sys.stderr)
        return 1
    statuses = store.request_statuses([item.request_id for item in state.items])
    out.write(render_report(state, store.review_trail(review_id), statuses))
    return 0
