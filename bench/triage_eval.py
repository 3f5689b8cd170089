"""The pre-consultation engine against the labelled cases.

    .venv/bin/python bench/triage_eval.py              # offline engine, development and held-out parts
    .venv/bin/python bench/triage_eval.py --misses     # also list every case it gets wrong
    .venv/bin/python bench/triage_eval.py --llm        # with the LLM step against the fake server

Each case is one conversation: the case text as the first message, then "不知道" / "not sure" to every
follow-up question. Departments are those of the demo hospital. Targets (offline): red-flag recall 100 %,
0 hazardous under-triage (a level I/II case advised as III/IV), top-1 >= 80 %, top-3 >= 95 %, p95 per turn
< 50 ms. The machine is shared with other work: timing figures are provisional.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gualema.demo_hospital import SPECIALTY_DEPARTMENTS
from models.triage.engine import ConversationPolicy
from models.triage.evaluation import Figures, figures, load_cases, offline_conversation, run
from models.triage.knowledge import bundled

CASES = Path(__file__).resolve().parent / "triage_cases" / "cases.jsonl"
FALLBACK = SPECIALTY_DEPARTMENTS["general_internal"]


def _line(name: str, f: Figures) -> str:
    return (
        f"{name:<10} cases {f.cases:>3} | top-1 {f.top1:6.1%} top-3 {f.top3:6.1%} (of {f.department_cases})"
        f" | red flags {f.red_flag_cases:>3}: recall {f.red_flag_recall:6.1%}"
        f" precision {f.red_flag_precision:6.1%}"
        f" | hazardous under-triage {f.hazardous_under_triage} | urgency exact {f.urgency_exact:6.1%}"
        f" safe {f.safe_urgency:6.1%} | IV sent to ED {f.over_triage_of_iv:5.1%}"
        f" | p95/turn {f.p95_ms:5.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--split", choices=["dev", "heldout"], help="only this part")
    args = parser.parse_args()
    cases = load_cases(CASES)
    kb = bundled()
    converse = offline_conversation(kb, ConversationPolicy())
    converse(cases[0])  # warm-up: compile and first-call costs are not a turn
    outcomes = run(cases, converse, SPECIALTY_DEPARTMENTS, FALLBACK)
    parts = {
        "dev": [o for o in outcomes if o.case.split == "dev"],
        "held-out": [o for o in outcomes if o.case.split == "heldout"],
        "all zh": [o for o in outcomes if o.case.lang == "zh"],
        "all en": [o for o in outcomes if o.case.lang == "en"],
        "all": outcomes,
    }
    if args.split:
        parts = {args.split: parts["dev" if args.split == "dev" else "held-out"]}
    print("offline engine (knowledge base in models/triage/knowledge/kb.json)")
    for name, part in parts.items():
        print(_line(name, figures(part, SPECIALTY_DEPARTMENTS)))
    if args.misses:
        for miss in figures(parts[next(iter(parts))], SPECIALTY_DEPARTMENTS).misses:
            print("  miss:", miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
