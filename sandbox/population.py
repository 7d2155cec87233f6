"""User Interviews' panel as the sandbox models it: a synthetic population of 1,250,000
members, described by distributions.

Reach is computed from the distributions (country/state shares times each criterion's share,
with the parent→child correlations from the catalog), never by scanning rows, so an
estimate costs microseconds. Individual members are drawn on demand, deterministically
from (seed, index), when the simulation needs an applicant.
"""

import math
import random

import pycountry

from sandbox.catalog import BY_SLUG, Characteristic

POPULATION_SIZE = 1_250_000
POPULATION_SEED = 20260101
REACH_THRESHOLD = 25

COUNTRY_SHARES = {
    "US": 62.0, "CA": 6.0, "GB": 7.5, "DE": 4.0, "FR": 3.0, "AU": 3.0, "NL": 1.5, "ES": 2.0,
    "IT": 1.5, "IE": 0.8, "SE": 0.7, "IN": 4.0, "BR": 2.0, "MX": 2.0,
}
# Millions of residents (2020 census, rounded): the US panel follows population.
US_STATE_POPULATION = {
    "AL": 5.0, "AK": 0.7, "AZ": 7.2, "AR": 3.0, "CA": 39.5, "CO": 5.8, "CT": 3.6, "DE": 1.0,
    "DC": 0.7, "FL": 21.5, "GA": 10.7, "HI": 1.5, "ID": 1.8, "IL": 12.8, "IN": 6.8, "IA": 3.2,
    "KS": 2.9, "KY": 4.5, "LA": 4.7, "ME": 1.4, "MD": 6.2, "MA": 7.0, "MI": 10.1, "MN": 5.7,
    "MS": 3.0, "MO": 6.2, "MT": 1.1, "NE": 2.0, "NV": 3.1, "NH": 1.4, "NJ": 9.3, "NM": 2.1,
    "NY": 20.2, "NC": 10.4, "ND": 0.8, "OH": 11.8, "OK": 4.0, "OR": 4.2, "PA": 13.0,
    "RI": 1.1, "SC": 5.1, "SD": 0.9, "TN": 6.9, "TX": 29.1, "UT": 3.3, "VT": 0.6, "VA": 8.6,
    "WA": 7.7, "WV": 1.8, "WI": 5.9, "WY": 0.6,
}
_US_TOTAL = sum(US_STATE_POPULATION.values())
_COUNTRY_TOTAL = sum(COUNTRY_SHARES.values())
VALID_COUNTRIES = {country.alpha_2 for country in pycountry.countries}
# Members who work (full/part-time or self-employed) make up the B2B audience.
WORKING_STATUSES = ("full_time", "part_time", "self_employed")


def country_share(code):
    return COUNTRY_SHARES.get(code, 0.0) / _COUNTRY_TOTAL


def location_share(countries, us_states):
    if not countries:
        countries = list(COUNTRY_SHARES)
    share = 0.0
    for code in set(countries):
        part = country_share(code)
        if code == "US" and us_states:
            part *= sum(US_STATE_POPULATION.get(state, 0.0) for state in set(us_states)) / _US_TOTAL
        share += part
    return share


def _weights(characteristic: Characteristic, parent_value=None):
    if parent_value is not None and characteristic.conditional:
        return characteristic.conditional[parent_value]
    return tuple(choice.weight for choice in characteristic.choices)


def _single_share(characteristic, values, parent_value=None):
    weights = _weights(characteristic, parent_value)
    chosen = set(values)
    return sum(w for w, c in zip(weights, characteristic.choices, strict=True)
               if c.id in chosen) / sum(weights)


def _multi_share(characteristic, values):
    chosen = set(values)
    miss = 1.0
    for choice in characteristic.choices:
        if choice.id in chosen:
            miss *= 1 - min(choice.weight, 99.0) / 100
    return 1 - miss


def _range_share(characteristic, low, high):
    total = sum(bucket[2] for bucket in characteristic.buckets)
    share = 0.0
    for lo, hi, weight in characteristic.buckets:
        overlap = min(hi, high) - max(lo, low) + 1
        if overlap > 0:
            share += weight * overlap / (hi - lo + 1)
    return share / total


def _marginal(characteristic, values, audience_type):
    if characteristic.slug == "employment_status" and audience_type == "b2b":
        working = _single_share(characteristic, WORKING_STATUSES)
        return _single_share(characteristic, set(values) & set(WORKING_STATUSES)) / working
    if characteristic.parent:
        parent = BY_SLUG[characteristic.parent]
        return sum(_single_share(parent, [p.id]) * _single_share(characteristic, values, p.id)
                   for p in parent.choices)
    return _single_share(characteristic, values)


def criterion_share(characteristic, criterion, audience_type):
    if characteristic.type == "range":
        return _range_share(characteristic, criterion["range"]["min"], criterion["range"]["max"])
    if characteristic.type == "multi_select":
        return _multi_share(characteristic, criterion["values"])
    return _marginal(characteristic, criterion["values"], audience_type)


def criteria_share(criteria, audience_type):
    """The share of the audience meeting every criterion (criteria are already valid)."""
    by_slug = {criterion["characteristic"]: criterion for criterion in criteria}
    share = 1.0
    for slug, criterion in by_slug.items():
        characteristic = BY_SLUG[slug]
        parent_criterion = by_slug.get(characteristic.parent) if characteristic.parent else None
        if parent_criterion is not None:
            continue  # counted jointly with its parent below
        children = [by_slug[c.slug] for c in BY_SLUG.values()
                    if c.parent == slug and c.slug in by_slug]
        if children and characteristic.type == "single_select":
            joint = 0.0
            for parent_value in criterion["values"]:
                part = _single_share(characteristic, [parent_value])
                for child in children:
                    part *= _single_share(BY_SLUG[child["characteristic"]], child["values"],
                                          parent_value)
                joint += part
            share *= joint
        else:
            share *= criterion_share(characteristic, criterion, audience_type)
    return share


def reach_estimate(*, audience, study_type, num_participants):
    """{reach, reachBelowThreshold, feasibility, estimatedDaysToFill} for a valid audience."""
    base = POPULATION_SIZE * location_share(audience["countries"], audience["usStates"])
    if audience["type"] == "b2b":
        base *= _single_share(BY_SLUG["employment_status"], WORKING_STATUSES)
    reach = int(base * criteria_share(audience["criteria"], audience["type"]))
    if reach < REACH_THRESHOLD:
        return {"reach": 0, "reachBelowThreshold": True, "feasibility": "infeasible",
                "estimatedDaysToFill": None}
    ratio = reach / max(num_participants, 1)
    if ratio >= 100:
        feasibility = "high"
    elif ratio >= 25:
        feasibility = "medium"
    elif ratio >= 5:
        feasibility = "low"
    else:
        feasibility = "infeasible"
    days = None
    if feasibility != "infeasible":
        pace = {"unmoderated_task": 0.6, "group_interview": 1.3}.get(study_type, 1.0)
        qualified_per_day = max(0.05, math.sqrt(reach) * 0.3)
        days = min(90, max(1, math.ceil(num_participants * 3 * pace / qualified_per_day)))
    return {"reach": reach, "reachBelowThreshold": False, "feasibility": feasibility,
            "estimatedDaysToFill": days}


# Drawing members ---------------------------------------------------------------------

FIRST_NAMES = (
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sophia", "Lucas", "Mia", "Ethan",
    "Amara", "Kenji", "Priya", "Diego", "Zoe", "Omar", "Hannah", "Jamal", "Chloe", "Wei",
    "Isabella", "Arjun", "Grace", "Leo", "Fatima", "Caleb", "Nora", "Samuel", "Aisha", "Jonas",
    "Lucia", "Mason", "Yuki", "Elena", "Tariq", "Ruby", "Felix", "Maya", "Hugo", "Layla",
    "Gabriel", "Ingrid", "Kwame", "Sofia", "Theo", "Aaliyah", "Ravi", "Clara", "Malik", "Eva",
)


def _pick(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def _draw_value(rng, characteristic, allowed=None, parent_value=None, allowed_range=None):
    if characteristic.type == "range":
        low, high = (allowed_range["min"], allowed_range["max"]) if allowed_range else (
            characteristic.range["min"], characteristic.range["max"])
        buckets = [(max(lo, low), min(hi, high), w * (min(hi, high) - max(lo, low) + 1)
                    / (hi - lo + 1)) for lo, hi, w in characteristic.buckets
                   if min(hi, high) >= max(lo, low)]
        lo, hi, _ = _pick(rng, buckets, [b[2] for b in buckets])
        return rng.randint(lo, hi)
    choices = characteristic.choices
    if characteristic.type == "multi_select":
        held = [c.id for c in choices if rng.random() < min(c.weight, 99.0) / 100]
        if allowed and not set(held) & set(allowed):
            options = [c for c in choices if c.id in allowed]
            held.append(_pick(rng, [c.id for c in options], [c.weight for c in options]))
        return sorted(set(held))
    weights = _weights(characteristic, parent_value)
    pairs = [(c.id, w) for c, w in zip(choices, weights, strict=True)
             if allowed is None or c.id in allowed]
    if not pairs or sum(w for _, w in pairs) <= 0:
        pairs = [(c.id, 1.0) for c in choices if allowed is None or c.id in allowed]
    return _pick(rng, [p[0] for p in pairs], [p[1] for p in pairs])


def _meets(characteristic, criterion, value):
    if characteristic.type == "range":
        return criterion["range"]["min"] <= value <= criterion["range"]["max"]
    if characteristic.type == "multi_select":
        return bool(set(value) & set(criterion["values"]))
    return value in criterion["values"]


def _complement(characteristic, criterion):
    """Allowed values that miss the criterion, or None when nothing misses it."""
    if characteristic.type == "range":
        low, high = characteristic.range["min"], characteristic.range["max"]
        if criterion["range"]["min"] > low:
            return {"range": {"min": low, "max": criterion["range"]["min"] - 1}}
        if criterion["range"]["max"] < high:
            return {"range": {"min": criterion["range"]["max"] + 1, "max": high}}
        return None
    rest = [c.id for c in characteristic.choices if c.id not in set(criterion["values"])]
    return {"values": rest} if rest else None


def member_draw(*, seed, index, audience, meets_criteria=True):
    """One deterministic member for (seed, index): name, location, criterion values.

    Returns {"firstName", "lastInitial", "country", "usState", "profile",
    "matchedCriteria", "unmetCriteria"}.
    """
    rng = random.Random(f"{POPULATION_SEED}:{seed}:{index}")
    countries = audience.get("countries") or list(COUNTRY_SHARES)
    country = _pick(rng, countries, [max(country_share(c), 0.001) for c in countries])
    us_state = None
    if country == "US":
        states = audience.get("usStates") or list(US_STATE_POPULATION)
        us_state = _pick(rng, states, [US_STATE_POPULATION.get(s, 0.1) for s in states])
    criteria = {c["characteristic"]: c for c in audience.get("criteria", [])}
    missed = set()
    if not meets_criteria and criteria:
        candidates = [slug for slug, c in criteria.items() if _complement(BY_SLUG[slug], c)]
        if candidates:
            missed.add(rng.choice(sorted(candidates)))
    profile = {}
    ordered = sorted(criteria, key=lambda slug: BY_SLUG[slug].parent is not None)
    for slug in ordered:
        characteristic = BY_SLUG[slug]
        wanted = criteria[slug]
        criterion = _complement(characteristic, wanted) if slug in missed else wanted
        parent_value = None
        if characteristic.parent:
            parent_value = profile.get(characteristic.parent) or _draw_value(
                rng, BY_SLUG[characteristic.parent])
        if characteristic.type == "range":
            value = _draw_value(rng, characteristic, allowed_range=criterion["range"])
        elif characteristic.type == "multi_select" and slug in missed:
            value = [v for v in _draw_value(rng, characteristic) if v not in wanted["values"]]
        else:
            value = _draw_value(rng, characteristic, allowed=criterion["values"],
                                parent_value=parent_value)
        profile[slug] = value
    matched, unmet = [], []
    for slug, criterion in criteria.items():
        value = profile[slug]
        entry = {"characteristic": slug,
                 "values": value if isinstance(value, list) else [value]}
        if BY_SLUG[slug].type == "range":
            entry = {"characteristic": slug, "values": [str(value)]}
        (matched if _meets(BY_SLUG[slug], criterion, value) else unmet).append(entry)
    return {"firstName": rng.choice(FIRST_NAMES), "lastInitial": chr(rng.randint(65, 90)),
            "country": country, "usState": us_state, "profile": profile,
            "matchedCriteria": matched, "unmetCriteria": unmet}
