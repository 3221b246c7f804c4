"""bench/profile.py: py-spy's raw stacks grouped by thread and summed per function."""

from __future__ import annotations

from pathlib import Path

from bench.profile import inclusive, load, report

LANE = "_loop (bot/slack/after_ack.py:70)"
RAW = "\n".join(
    [
        "thread (0x1): MainThread;serve (bot/web/server.py:10) 7",
        f"thread (0x2): slack-work-0;{LANE};approve (bot/services/decide.py:40);"
        "commit (sqlalchemy/orm/session.py:2000) 6",
        f"thread (0x3): slack-work-1;{LANE};approve (bot/services/decide.py:41);"
        "approve (bot/services/decide.py:45) 3",
        f"thread (0x4): slack-work-1;{LANE};api_call (slack_sdk/web/base_client.py:9) 1",
        "thread (0x5): ThreadPoolExecutor-0_3;handle (slack_bolt/app/app.py:5) 2",
    ]
)


def test_lanes_are_grouped_and_each_function_counted_once_per_sample(tmp_path: Path) -> None:
    path = tmp_path / "bot-01-sqlite.txt"
    path.write_text(RAW)
    groups = load([path])
    assert {name: sum(s.values()) for name, s in groups.items()} == {
        "MainThread": 7,
        "slack-work": 10,
        "ThreadPoolExecutor": 2,
    }
    shares = inclusive(groups["slack-work"])
    # The recursive approve sample counts once; line numbers do not split a function.
    assert shares["approve (bot/services/decide.py)"] == 9
    assert shares["commit (sqlalchemy/orm/session.py)"] == 6
    text = report(groups, "slack-work", top=5)
    assert "slack-work: 10 samples" in text
    assert "90.0 %  approve (bot/services/decide.py)" in text
    assert "after_ack.py" not in text.split("\n", 1)[1]
