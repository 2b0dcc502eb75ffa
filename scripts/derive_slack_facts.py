"""Writes standin/slack_facts.json: the facts of Slack's Web API the stand-in checks calls against.

Source: Slack's published Web API spec, slackapi/slack-api-specs `web-api/slack_web_openapi_v2.json` (a copy
in ../shared/slack/specs, see SOURCE.md there). Every method of the spec is kept; standin/facts.py says
what of each. Run it again when the spec file changes (tests/standin/test_facts.py fails until then):

    .venv/bin/python scripts/derive_slack_facts.py [SPEC_FILE] [--output FILE]

Without SPEC_FILE: $HASHI_SLACK_SPEC, else $HASHI_SHARED_DIR/slack/specs/…, else ../shared beside the
checkout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from standin.facts import FACTS_PATH, derive_from_file, dumps
from standin.spec import SPEC_RELATIVE, find_spec_path


def spec_file(given: Path | None) -> Path | None:
    """The spec named on the command line, else where the tests look for it."""
    if given is not None:
        return given
    shared = os.environ.get("HASHI_SHARED_DIR")
    if shared and not os.environ.get("HASHI_SLACK_SPEC"):
        candidate = Path(shared) / SPEC_RELATIVE.relative_to("shared")
        return candidate if candidate.is_file() else None
    return find_spec_path()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Derive standin/slack_facts.json from Slack's spec.")
    parser.add_argument("spec", nargs="?", type=Path, help="the spec file (default: ../shared's)")
    parser.add_argument("--output", type=Path, default=FACTS_PATH, help="where to write the table")
    args = parser.parse_args(argv)
    path = spec_file(args.spec)
    if path is None or not path.is_file():
        sys.stderr.write(f"Slack's spec not found (give its path, or put it at ../{SPEC_RELATIVE})\n")
        return 2
    args.output.write_text(dumps(derive_from_file(path)), encoding="utf-8")
    sys.stdout.write(f"wrote {args.output} from {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
