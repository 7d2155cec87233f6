"""Recruitment fees per participant (SPEC B1), read from the dated `Price` table."""

import datetime
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CostEstimate:
    """SPEC B2: participation limit times (recruitment fee + incentive amount), both parts.

    The one place that arithmetic lives: the plan page's estimate (unsaved values as typed,
    any part possibly missing) and what "Start Recruitment" reserves (`total`) both read it.
    """

    participation_limit: int | None
    recruitment_fee: Decimal | None
    incentive_amount: Decimal | None
    fee_reason: str = ""  # why there is no recruitment fee, when there is none

    @property
    def complete(self):
        return (self.participation_limit is not None and self.incentive_amount is not None
                and self.recruitment_fee is not None)

    @property
    def fees_total(self):
        if self.participation_limit is None or self.recruitment_fee is None:
            return None
        return self.recruitment_fee * self.participation_limit

    @property
    def incentives_total(self):
        if self.participation_limit is None or self.incentive_amount is None:
            return None
        return self.incentive_amount * self.participation_limit

    @property
    def per_participant(self):
        if self.recruitment_fee is None or self.incentive_amount is None:
            return None
        return self.recruitment_fee + self.incentive_amount

    @property
    def total(self):
        if not self.complete:
            return None
        return self.fees_total + self.incentives_total


def recruitment_estimate(*, participation_limit, fee, incentive, fee_reason=""):
    """Estimated recruitment costs (SPEC B2) for these values, with both parts: limit x fee
    (`fees_total`) and limit x incentive (`incentives_total`). What "Start Recruitment"
    reserves is `total`."""
    return CostEstimate(participation_limit, fee, incentive, fee_reason)


def prices_seed_defaults():
    """Put the B1 prices back when they are missing (idempotent). The migration seeds them;
    test runs that flush the database (transactional tests) call this to restore them."""
    for audience_type, kind, amount in B1_PRICES:
        Price.objects.get_or_create(audience_type=audience_type, kind=kind,
                                    effective_from=B1_EFFECTIVE_FROM,
                                    defaults={"amount": amount})
