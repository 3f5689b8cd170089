from __future__ import annotations

from enum import StrEnum


class Urgency(StrEnum):
    """China's emergency pre-triage consensus (急诊预检分诊专家共识, 2018): four levels."""

    LEVEL_I = "I"  # 濒危: immediate
    LEVEL_II = "II"  # 危重: within 10 minutes
    LEVEL_III = "III"  # 急症: within 30 minutes
    LEVEL_IV = "IV"  # 非急症: outpatient

    @property
    def rank(self) -> int:
        """Higher is more urgent."""
        return {"I": 4, "II": 3, "III": 2, "IV": 1}[self.value]

    @property
    def is_emergency(self) -> bool:
        return self.rank >= Urgency.LEVEL_II.rank


def highest(*levels: Urgency | None) -> Urgency:
    """Urgency only rises: the most urgent of the given levels (IV when none)."""
    present = [level for level in levels if level is not None]
    return max(present, key=lambda level: level.rank, default=Urgency.LEVEL_IV)


ADVICE: dict[Urgency, dict[str, str]] = {
    Urgency.LEVEL_I: {
        "zh": "Ⅰ级（濒危）：请立即拨打120或马上到最近的急诊，不要等待挂号。",
        "en": "Level I (critical): call 120 or go to the nearest emergency department now; do not book.",
    },
    Urgency.LEVEL_II: {
        "zh": "Ⅱ级（危重）：请尽快（10分钟内）到急诊就诊，必要时拨打120。",
        "en": "Level II (serious): go to the emergency department within 10 minutes; call 120 if needed.",
    },
    Urgency.LEVEL_III: {
        "zh": "Ⅲ级（急症）：建议今天就诊，可到急诊或当日门诊，症状加重请立即就医。",
        "en": "Level III (urgent): be seen today, at the emergency department or a same-day clinic.",
    },
    Urgency.LEVEL_IV: {
        "zh": "Ⅳ级（非急症）：可预约门诊就诊；如出现新的严重症状请及时就医。",
        "en": "Level IV (non-urgent): book an outpatient appointment; seek care if it gets worse.",
    },
}
