"""`hashi serve` with a memory probe: `python bench/traced_serve.py OUT.json serve --http --port P`.

memory.py --trace runs Hashi through this instead of `python -m bot`. It starts tracemalloc (one frame),
then runs the real `bot.cli.command.main()` with the remaining arguments. On SIGUSR1 it writes to OUT.json
what Python itself holds (tracemalloc's current and peak bytes, allocated blocks, objects the garbage
collector tracks) and the largest allocation sites, so RSS can be told apart from live objects.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def main() -> None:
    out = Path(sys.argv[1])
    tracemalloc.start(1)

    def probe(_signum: int, _frame: FrameType | None) -> None:
        current, peak = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().statistics("lineno")[:12]
        out.write_text(
            json.dumps(
                {
                    "traced_current": current,
                    "traced_peak": peak,
                    "allocated_blocks": sys.getallocatedblocks(),
                    "gc_objects": len(gc.get_objects()),
                    "top": [
                        f"{s.size / 1024 / 1024:7.1f} MiB {s.count:>8} blocks  {s.traceback}" for s in top
                    ],
                }
            )
        )

    signal.signal(signal.SIGUSR1, probe)
    from bot.cli.command import main as hashi

    sys.argv = ["hashi", *sys.argv[2:]]
    hashi()


if __name__ == "__main__":
    main()
