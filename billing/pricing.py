"""Recruitment fees per participant (SPEC B1), read from the dated `Price` table."""

import datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist

from billing.models import AudienceType, Price, PriceKind
from rally import clock

#: SPEC B1, the prices Rally starts with (migration 0002 seeds the same rows).
B1_PRICES = [
    (AudienceType.B2B, PriceKind.MODERATED, Decimal("65.00")),
    (AudienceType.B2B, PriceKind.UNMODERATED, Decimal("43.00")),
    (AudienceType.B2C, PriceKind.MODERATED, Decimal("39.00")),
    (AudienceType.B2C, PriceKind.UNMODERATED, Decimal("26.00")),
]
B1_EFFECTIVE_FROM = datetime.date(2024, 1, 1)

#: study type -> price kind. Surveys are not recruited through the panel: no fee exists.
STUDY_TYPE_KINDS = {
    "interview": PriceKind.MODERATED,
    "group_interview": PriceKind.MODERATED,
    "unmoderated_test": PriceKind.UNMODERATED,
}


def price_kind_for(study_type):
    try:
        return STUDY_TYPE_KINDS[study_type]
    except KeyError:
        raise ValueError(f"No recruitment fee for study type {study_type!r}.") from None


def recruitment_fee(*, audience_type, study_type, on=None):
    """The fee per participant for a study of this audience and type started on `on`
    (a date; today by Rally's clock when omitted). A study keeps the fee it started with:
    callers copy it onto the reservation."""
    kind = price_kind_for(study_type)
    audience_type = AudienceType(audience_type)
    on = on or clock.now().date()
    price = (Price.objects.filter(audience_type=audience_type, kind=kind,
                                  effective_from__lte=on)
             .order_by("-effective_from").first())
    if price is None:
        raise ObjectDoesNotExist(f"No {audience_type} {kind} price in effect on {on}.")
    return price.amount


def recruitment_estimate(*, participation_limit, fee, incentive):
    """Estimated recruitment costs (SPEC B2), with both parts: limit x fee and
    limit x incentive. What "Start Recruitment" reserves is `total`."""
    fees = participation_limit * fee
    incentives = participation_limit * incentive
    return {"participants": participation_limit, "fee": fee, "incentive": incentive,
            "fees": fees, "incentives": incentives, "total": fees + incentives}


def prices_seed_defaults():
    """Put the B1 prices back when they are missing (idempotent). The migration seeds them;
    test runs that flush the database (transactional tests) call this to restore them."""
    for audience_type, kind, amount in B1_PRICES:
        Price.objects.get_or_create(audience_type=audience_type, kind=kind,
                                    effective_from=B1_EFFECTIVE_FROM,
                                    defaults={"amount": amount})
