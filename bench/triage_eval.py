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
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from gualema.demo_hospital import SPECIALTY_DEPARTMENTS
from gualema.settings import get_settings
from integrations.llm.fake import FakeLlm
from models.triage.engine import ConversationPolicy, ConversationState, Status, step
from models.triage.evaluation import (
    FOLLOW_UP_ANSWER,
    Case,
    Figures,
    Outcome,
    departments_for,
    figures,
    load_cases,
    offline_conversation,
    run,
)
from models.triage.knowledge import bundled
from resolvers.pre_consultation_llm import refine
from tests.fixtures.api import free_port

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
    parser.add_argument(
        "--llm", action="store_true", help="also run with the LLM step against the fake server"
    )
    args = parser.parse_args()
    cases = load_cases(CASES)
    if args.llm:
        asyncio.run(_with_llm(cases))
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


# What the fake server replays for every case: a careless model that calls everything routine and
# points at general medicine. The step must not make red flags or urgency worse than the rules.
CARELESS = {"reply": "建议先到内科看看，问题不大。", "specialties": ["general_internal"], "urgency": "IV"}


async def _with_llm(cases: list[Case]) -> None:
    fake = FakeLlm(answer=CARELESS)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for "started"
        await asyncio.sleep(0.02)
    settings = get_settings().model_copy(
        update={
            "llm_base_url": f"http://127.0.0.1:{port}/v1",
            "llm_model": "fake",
            "llm_timeout_seconds": 5.0,
        }
    )
    kb = bundled()
    policy = ConversationPolicy()
    outcomes: list[Outcome] = []
    sources: dict[str, int] = {}
    for case in cases:
        state = ConversationState()
        text = case.text
        timings: list[float] = []
        while True:
            started = time.perf_counter()
            assessment = step(kb, state, text, policy)
            refined: Any = await refine(settings, kb, state, assessment, "bench")
            timings.append(time.perf_counter() - started)
            if refined is not None:
                assessment, source = refined
                sources[source] = sources.get(source, 0) + 1
            if assessment.status is not Status.ASKING:
                break
            text = FOLLOW_UP_ANSWER[state.language]
        departments = departments_for((c for c, _ in assessment.specialties), SPECIALTY_DEPARTMENTS, FALLBACK)
        outcomes.append(
            Outcome(case, departments, assessment.urgency, assessment.status is Status.EMERGENCY, timings)
        )
    server.should_exit = True
    await task
    print(f"with the LLM step (fake server replaying a careless answer; LLM results {sources})")
    for name, part in (
        ("dev", [o for o in outcomes if o.case.split == "dev"]),
        ("held-out", [o for o in outcomes if o.case.split == "heldout"]),
        ("all", outcomes),
    ):
        print(_line(name, figures(part, SPECIALTY_DEPARTMENTS)))


if __name__ == "__main__":
    raise SystemExit(main())
