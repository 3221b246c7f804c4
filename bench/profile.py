"""Where the bot's CPU goes, from py-spy: `python -m bench --profile DIR` records every
bot process it starts (`py-spy record --gil --threads -f raw`, 100 Hz: only the thread
holding the GIL is sampled, so the samples are the process's Python CPU) into DIR, and

    python -m bench.profile DIR/*.txt [--lane slack-work] [--top 25]

says, for one lane's threads (bot/slack/after_ack.py names them `slack-work-N`,
`slack-modal-N`; Bolt's listener threads are `ThreadPoolExecutor-...`), what share of
their samples sits under each function: inclusive (the function or anything it calls),
each function counted once per sample.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_THREAD = re.compile(r"^thread \(\w+\): (?P<name>[^;]*?)(?:-\d+)?(?:;|$)")


def load(paths: list[Path]) -> dict[str, Counter[tuple[str, ...]]]:
    """Stacks per thread group (a thread's name without its trailing -N)."""
    groups: dict[str, Counter[tuple[str, ...]]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            match = _THREAD.match(frames[0] + ";")
            name = match.group("name") if match else frames[0]
            if name.startswith("ThreadPoolExecutor"):
                name = "ThreadPoolExecutor"
            groups.setdefault(name, Counter())[tuple(frames[1:])] += int(count)
    return groups


def _function(frame: str) -> str:
    """`record (bot/store/requests.py:120)` -> `record (bot/store/requests.py)`."""
    return re.sub(r":\d+\)$", ")", frame)


def inclusive(stacks: Counter[tuple[str, ...]]) -> Counter[str]:
    shares: Counter[str] = Counter()
    for frames, count in stacks.items():
        for function in {_function(f) for f in frames}:
            shares[function] += count
    return shares


def report(groups: dict[str, Counter[tuple[str, ...]]], lane: str, top: int) -> str:
    lines = [
        "samples per thread group: "
        + ", ".join(f"{name} {sum(stacks.values())}" for name, stacks in sorted(groups.items()))
    ]
    stacks = groups.get(lane)
    if not stacks:
        return "\n".join([*lines, f"no samples for {lane!r}"])
    total = sum(stacks.values())
    lines.append(f"{lane}: {total} samples; inclusive share of each function:")
    for function, count in inclusive(stacks).most_common():
        if "threading.py" in function or "after_ack.py" in function:
            continue  # every sample is under the lane's own loop
        lines.append(f"  {100 * count / total:5.1f} %  {function}")
        if len(lines) >= top + 2:
            break
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--lane", default="slack-work")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(report(load(args.files), args.lane, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
