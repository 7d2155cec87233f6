"""Plausible answers to Rally's screener questions, by question type.

A question is `{uid, type, text, required, options: [{uid, label, ...}], min, max}`. Types
are read loosely (Rally names them; the sandbox answers anything sensible): choice questions
get answerUids, scales and numbers a number, dates a date, the rest a short text. Options
marked as disqualifying are avoided for applicants who qualify.
"""

import random
from datetime import date, timedelta

TEXT_ANSWERS = (
    "I use it every week, mostly on my phone during my commute.",
    "We switched tools last year and the onboarding was painful.",
    "Mostly for planning with my team; the reporting could be better.",
    "I compare a few options before deciding, usually reading reviews first.",
    "It works, but I often export to a spreadsheet to finish the job.",
    "I help my parents with it, so accessibility matters a lot to me.",
    "Happy to share my screen and walk through how I do it today.",
)
_DISQUALIFYING_KEYS = ("disqualify", "disqualifies", "disqualifying", "reject")


def _disqualifies(option):
    if any(option.get(key) for key in _DISQUALIFYING_KEYS):
        return True
    return option.get("qualifies") is False or option.get("logic") in ("reject", "disqualify")


def _kind(question):
    kind = question.get("type", "").lower()
    if question.get("options"):
        return "multi" if any(w in kind for w in ("multi", "checkbox", "multiple")) else "single"
    if any(w in kind for w in ("scale", "rating", "number", "numeric", "nps", "range")):
        return "number"
    if "date" in kind:
        return "date"
    return "text"


def answers_draw(questions, *, seed, qualifies=True):
    rng = random.Random(f"screener:{seed}")
    responses = []
    for question in questions:
        kind = _kind(question)
        if not question.get("required", True) and rng.random() < 0.15:
            continue
        answer = {"questionUid": question["uid"]}
        if kind in ("single", "multi"):
            options = question["options"]
            good = [o for o in options if not _disqualifies(o)] or options
            pool = good if qualifies else options
            if kind == "single":
                answer["answerUids"] = [rng.choice(pool)["uid"]]
            else:
                picked = rng.sample(pool, k=rng.randint(1, min(3, len(pool))))
                answer["answerUids"] = [o["uid"] for o in picked]
        elif kind == "number":
            low = question.get("min", 1)
            high = question.get("max", 5 if "scale" in question.get("type", "") else 10)
            low, high = (low, high) if isinstance(low, int) and isinstance(high, int) and \
                low <= high else (1, 5)
            answer["number"] = rng.randint(low, high)
        elif kind == "date":
            answer["date"] = (date(2026, 1, 1) - timedelta(days=rng.randint(0, 900))).isoformat()
        else:
            answer["text"] = rng.choice(TEXT_ANSWERS)
        responses.append(answer)
    return responses
