"""Plausible answers to Rally's screener questions, by question type.

A question is `{uid, type, text, required, options: [{uid, label, ...}], min, max}`. Types
are read loosely (Rally names them; the sandbox answers anything sensible): choice questions
get answerUids, scales and numbers a number, dates a date, the rest a short text. Options
marked as disqualifying are avoided for applicants who qualify.

An applicant walks the screener like a person: questions whose `logic.showIf` is not met by
an earlier answer are not shown, and an answer's `logic.skip` jumps ahead (to a later
question, or "end"); questions passed over stay unanswered.
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


def _shown(question, chosen):
    """Whether `question` appears given the options chosen so far ({question uid: [uids]})."""
    condition = (question.get("logic") or {}).get("showIf")
    if not isinstance(condition, dict):
        return True
    given = chosen.get(condition.get("questionUid")) or []
    return any(uid in given for uid in condition.get("answerUids") or [])


def _jump(question, picked, positions, here):
    """Where the walk goes after answering `question` with option uids `picked`: the first
    picked option (in the question's order) with a skip decides; None means the end."""
    skips = (question.get("logic") or {}).get("skip") or {}
    for option in question.get("options") or []:
        target = skips.get(option["uid"]) if option["uid"] in picked else None
        if target == "end":
            return None
        if target in positions and positions[target] > here:
            return positions[target]
    return here + 1


def _answer(question, rng, qualifies):
    kind = _kind(question)
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
    return answer


def answers_draw(questions, *, seed, qualifies=True):
    """One applicant's responses, walking the logic: [{questionUid, answerUids | number |
    date | text}] for the questions they were shown and chose to answer, in order."""
    rng = random.Random(f"screener:{seed}")
    positions = {question.get("uid"): index for index, question in enumerate(questions)}
    chosen, responses, here = {}, [], 0
    while here < len(questions):
        question = questions[here]
        if not _shown(question, chosen):
            here += 1
            continue
        if not question.get("required", True) and rng.random() < 0.15:
            here += 1
            continue
        answer = _answer(question, rng, qualifies)
        responses.append(answer)
        picked = answer.get("answerUids") or []
        chosen[question["uid"]] = picked
        following = _jump(question, picked, positions, here)
        if following is None:
            break
        here = following
    return responses
