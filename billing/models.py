"""Money rows: prices, budgets, the double-entry ledger, reservations and receipts.

The chart of accounts (one `Account` row per kind and owner, created on first use):

    kind                     owner                 what its balance is
    external_funding         workspace             minus everything ever added (the outside world)
    budget_available         budget                money free to reserve ("Available")
    study_hold               budget + study        reserved for a study, not yet spent ("Reserved")
    recruitment_fees_spent   budget + study        fees of participants charged ("Spent")
    incentives_owed          budget + study        incentives charged, payout not yet confirmed
    incentives_paid          budget + study        incentives whose payout was made ("Spent")

A `Transfer` moves a positive amount from its debit account to its credit account; an
account's balance is Σ credits into it - Σ debits out of it. Only `external_funding` may be
negative. The flows are:

    funds:<uuid>          external_funding  -> budget_available
    reserve:<attempt>           budget_available  -> study_hold
    shrink:<attempt>:<n>        study_hold        -> budget_available   (limit lowered to n)
    fee:<session>               study_hold        -> recruitment_fees_spent
    incentive:<session>         study_hold        -> incentives_owed
    paid:<payout>               incentives_owed   -> incentives_paid
    unpaid:<payout>:<n>         incentives_owed   -> study_hold         (UI failed it for good)
    incentive:<session>:retry:<n>  study_hold     -> incentives_owed    (charged again on Retry)
    release:<attempt>           study_hold        -> budget_available   (unused returns)

A study may be started more than once (User Interviews declined it, or the hand-off failed):
each start is a `Reservation` with its own `attempt` number, and `<attempt>` above is the
study id for the first start and `<study>:<n>` from the second on (as the recruit's
externalId at UI). At most one reservation of a study is open at a time. The reserve,
shrink and release transfers name their reservation; charges (fee, incentive, paid) always
belong to the study's latest start: only an open reservation takes charges, and a start
whose reservation took any is never followed by another.

A payout UI reports Failed for good gives its incentive back to the study's hold (SPEC B9):
the n-th failure of a payout is `unpaid:<payout>:<n>` and the n-th Retry charges it again as
`incentive:<session>:retry:<n>`, so a session's incentive is charged net at most once and
Spent counts only incentives delivered or on their way.

Transfers and receipts are append-only (the database refuses UPDATE and DELETE).
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from rally.models import Workspace, actor_display

ZERO = Decimal("0.00")


def money_field(**kwargs):
    return models.DecimalField(max_digits=13, decimal_places=2, **kwargs)


class AudienceType(models.TextChoices):
    B2B = "b2b", "B2B"
    B2C = "b2c", "B2C"


class PriceKind(models.TextChoices):
    MODERATED = "moderated", "Moderated"
    UNMODERATED = "unmoderated", "Unmoderated"


class Price(models.Model):
    """The recruitment fee per participant from a date on (SPEC B1). Rows are never edited:
    a new price is a new row with a later `effective_from`."""

    audience_type = models.CharField(max_length=3, choices=AudienceType.choices)
    kind = models.CharField(max_length=12, choices=PriceKind.choices)
    amount = money_field()
    effective_from = models.DateField()

    class Meta:
        ordering = ["audience_type", "kind", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["audience_type", "kind", "effective_from"],
                                    name="price_unique_per_day"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="price_amount_positive"),
        ]

    def __str__(self):
        return f"{self.get_audience_type_display()} {self.kind} ${self.amount} from " \
               f"{self.effective_from}"


class Budget(models.Model):
    """A pot of money in a workspace. Its figures are sums of the ledger, never stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="budgets")
    name = models.CharField(max_length=120)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="budget_name_unique_in_workspace")]

    def __str__(self):
        return self.name


class AccountKind(models.TextChoices):
    EXTERNAL_FUNDING = "external_funding", "External funding"
    BUDGET_AVAILABLE = "budget_available", "Available"
    STUDY_HOLD = "study_hold", "Reserved"
    RECRUITMENT_FEES_SPENT = "recruitment_fees_spent", "Recruitment fees"
    INCENTIVES_OWED = "incentives_owed", "Incentives owed"
    INCENTIVES_PAID = "incentives_paid", "Incentives paid"


#: Account kinds whose balance counts as "Spent".
SPENT_KINDS = (AccountKind.RECRUITMENT_FEES_SPENT, AccountKind.INCENTIVES_OWED,
               AccountKind.INCENTIVES_PAID)
STUDY_KINDS = (AccountKind.STUDY_HOLD, *SPENT_KINDS)


class Account(models.Model):
    """One ledger account. Owner columns depend on the kind (see the module docstring)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=AccountKind.choices)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="accounts")
    study_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "budget", "study_id"],
                                    nulls_distinct=False, name="account_unique_per_owner"),
            models.CheckConstraint(
                name="account_owner_matches_kind",
                condition=(
                    Q(kind=AccountKind.EXTERNAL_FUNDING, budget__isnull=True,
                      study_id__isnull=True)
                    | Q(kind=AccountKind.BUDGET_AVAILABLE, budget__isnull=False,
                        study_id__isnull=True)
                    | Q(kind__in=[k.value for k in STUDY_KINDS], budget__isnull=False,
                        study_id__isnull=False)
                ),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.budget_id or ''} {self.study_id or ''}".strip()


class TransferKind(models.TextChoices):
    FUNDS = "funds", "Funds added"
    RESERVE = "reserve", "Reserved for study"
    SHRINK = "shrink", "Reservation reduced"
    FEE = "fee", "Recruitment fee"
    INCENTIVE = "incentive", "Incentive"
    PAID = "paid", "Incentive paid"
    UNPAID = "unpaid", "Failed incentive returned"
    RELEASE = "release", "Unused funds returned"


class Transfer(models.Model):
    """One movement of money from `debit_account` to `credit_account`. Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=120, unique=True)  # the business key, e.g. "fee:<session>"
    kind = models.CharField(max_length=10, choices=TransferKind.choices)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="transfers")
    study_id = models.UUIDField(null=True, blank=True)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = money_field()
    description = models.CharField(max_length=300, blank=True)  # reference or study name
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    # The start a reserve, shrink or release belongs to (None for the other kinds).
    reservation = models.ForeignKey("Reservation", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="transfers")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")),
                                   name="transfer_accounts_differ"),
        ]
        indexes = [
            models.Index(fields=["budget", "-created_at"]),
            models.Index(fields=["study_id", "kind"]),
        ]

    def __str__(self):
        return f"{self.key} ${self.amount}"

    @property
    def actor_display(self):
        """"By" in the history: a person, "User Interviews" or "Rally (automatic)"."""
        return actor_display(user_id=self.actor_id, label=self.actor_label)


class Reservation(models.Model):
    """The money held for one start of a study, with the prices it started with.

    A declined or failed start is released and the study may be started again: the next
    start is a new reservation with the next `attempt`. At most one is open per study.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="reservations")
    study_id = models.UUIDField()
    attempt = models.PositiveIntegerField(default=1)
    study_name = models.CharField(max_length=200)
    participation_limit = models.PositiveIntegerField()  # current (lowered by a shrink)
    initial_limit = models.PositiveIntegerField()
    fee = money_field()
    incentive = money_field()
    created_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["study_id", "attempt"],
                                    name="reservation_unique_attempt"),
            models.UniqueConstraint(fields=["study_id"], condition=Q(released_at__isnull=True),
                                    name="reservation_one_open_per_study"),
            models.CheckConstraint(condition=Q(attempt__gte=1),
                                   name="reservation_attempt_positive"),
            models.CheckConstraint(condition=Q(participation_limit__gte=1),
                                   name="reservation_limit_positive"),
            models.CheckConstraint(condition=Q(participation_limit__lte=F("initial_limit")),
                                   name="reservation_limit_only_lowers"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(incentive__gte=0),
                                   name="reservation_prices_not_negative"),
        ]

    def __str__(self):
        return f"Reservation for {self.study_name} (start {self.attempt})"

    def ledger_key(self, kind):
        """The business key of this start's `kind` movement: "reserve:<study>" for the first
        start, "reserve:<study>:<n>" from the second on (the rows of first starts made
        before restarts existed keep their keys)."""
        suffix = "" if self.attempt == 1 else f":{self.attempt}"
        return f"{kind}:{self.study_id}{suffix}"

    @property
    def per_participant(self):
        return self.fee + self.incentive

    @property
    def is_open(self):
        return self.released_at is None


class Receipt(models.Model):
    """The frozen final billing details of a closed study (SPEC B6/B7). Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True)  # "R-20261125-3F2A1C"
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="receipts")
    budget_name = models.CharField(max_length=120)
    study_id = models.UUIDField(unique=True)
    study_name = models.CharField(max_length=200)
    participants = models.PositiveIntegerField()
    # Participants whose incentive counts (a payout failed for good at close does not);
    # None on receipts issued before failed payouts were returned: all of them counted.
    incentive_participants = models.PositiveIntegerField(null=True, blank=True)
    fee = money_field()
    incentive = money_field()
    reserved = money_field()
    recruitment_fees = money_field()
    incentives = money_field()
    total_spent = money_field()
    unused = money_field()
    issued_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    issued_by_label = models.CharField(max_length=200)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(condition=Q(reserved=F("total_spent") + F("unused")),
                                   name="receipt_reserved_is_spent_plus_unused"),
            models.CheckConstraint(
                condition=Q(total_spent=F("recruitment_fees") + F("incentives")),
                name="receipt_spent_is_fees_plus_incentives"),
        ]
        indexes = [models.Index(fields=["workspace", "-issued_at"])]

    def __str__(self):
        return f"Receipt {self.number} for {self.study_name}"

    @property
    def incentives_count(self):
        return self.participants if self.incentive_participants is None \
            else self.incentive_participants


class UiBillingSummary(models.Model):
    """User Interviews' own closing account of a study's recruit (its closure's `billing`,
    also sent as `recruit.billing_finalized`), kept to compare with Rally's figures (SPEC
    B7): completed sessions, incentives paid and the number of paid payments."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    study_id = models.UUIDField(unique=True)
    completed_sessions = models.PositiveIntegerField()
    incentives = money_field()
    paid_payments = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    received_from = models.CharField(max_length=200)  # the actor label: webhook or worker

    def __str__(self):
        return f"UI billing of {self.study_id}"


class ReceiptEmail(models.Model):
    """The email of a receipt to the person who closed the study (SPEC B7), written in the
    transaction that issues the receipt and sent by a worker after commit: a lost dispatch
    or a mail server that is down is retried (the task backs off; a sweeper re-sends rows
    left unsent), never inside a request."""

    MAX_ATTEMPTS = 8

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    receipt = models.OneToOneField(Receipt, on_delete=models.PROTECT, related_name="email")
    to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)  # a worker is sending it
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True),
                                name="receipt_email_unsent")]

    def __str__(self):
        return f"Email of {self.receipt_id} ({'sent' if self.sent_at else 'not sent'})"


#: How a team pays its own panel participants (outside Rally; "Mark as paid" records it).
PAYMENT_METHODS = {"gift_card": "Gift card", "bank_transfer": "Bank transfer", "cash": "Cash",
                   "other": "Other"}


class Payout(models.Model):
    """One session's incentive payment through User Interviews (SPEC I1–I3). At most one per
    session. Its id is the `externalId` UI pays under, so any retry names the same payment."""

    class State(models.TextChoices):
        NOT_SENT = "not_sent", "Not sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTO_24H = "auto_24h", "Automatic"
        AT_CLOSE = "at_close", "Automatic at close"  # settled by closing the study (B5)

    # Written once: where a payout may go from each state. Failed may be sent again (Retry);
    # UI's own failure of a sent payment also ends it failed. A payout held by a No-show
    # (Canceled) is due again when the No-show is undone before anything was sent.
    # UI's own failure of a sent payment also ends it failed.
    # A payout the team pays itself (a Rally-panel participant's, `paid_by_team`) is never
    # sent: it goes from Not sent to Paid by "Mark as paid" (billing.panel_incentives).
    TRANSITIONS = {
        State.NOT_SENT: {State.SENDING, State.CANCELED, State.PAID},
        State.SENDING: {State.SENT, State.PAID, State.FAILED},
        State.SENT: {State.PAID, State.FAILED},
        State.PAID: set(),
        State.FAILED: {State.SENDING},
        State.CANCELED: {State.NOT_SENT},
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    study_id = models.UUIDField()
    study_name = models.CharField(max_length=200)
    session_id = models.UUIDField(unique=True)
    application_id = models.UUIDField()
    participant_label = models.CharField(max_length=200)
    amount = money_field()
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.AUTO_24H)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NOT_SENT)
    due_at = models.DateTimeField()
    ui_session_id = models.CharField(max_length=100, blank=True)
    ui_payment_id = models.CharField(max_length=100, blank=True)
    ui_status = models.CharField(max_length=20, blank=True)
    failure_reason = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)  # moved to Sending
    accepted_at = models.DateTimeField(null=True, blank=True)  # UI took it (Sent)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # UI says paid
    # Rally-panel incentives: the team pays them itself (gift card, bank, cash), never User
    # Interviews; "Mark as paid" records how, the reference and the budget it came from.
    paid_by_team = models.BooleanField(default=False)
    paid_method = models.CharField(max_length=20, blank=True)
    paid_reference = models.CharField(max_length=150, blank=True)
    paid_budget = models.ForeignKey("Budget", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    paid_by_label = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payout_amount_not_negative"),
            # The team's own payouts never reach User Interviews.
            models.CheckConstraint(
                condition=Q(paid_by_team=False) | Q(state__in=["not_sent", "paid", "canceled"],
                                                    ui_payment_id=""),
                name="payout_paid_by_team_never_sent"),
        ]
        indexes = [
            # The sweeper's query: due, not yet sent.
            models.Index(fields=["due_at"], condition=Q(state="not_sent"),
                         name="payout_due_not_sent"),
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["study_id", "-created_at"]),
        ]

    def __str__(self):
        return f"Payout {self.id} ({self.state})"

    def can_become(self, state):
        return state in self.TRANSITIONS[self.State(self.state)]

    @property
    def paid_method_label(self):
        """How the team paid it ("Gift card"), for a payout paid by the team."""
        return PAYMENT_METHODS.get(self.paid_method, "")

    @property
    def ui_trigger(self):
        """The trigger UI knows (UI_API: manual | auto_24h): a payout settled by closing the
        study was not asked for by a person, so it is automatic there too."""
        return "manual" if self.trigger == self.Trigger.MANUAL else "auto_24h"

    @property
    def session_ended_at(self):
        """The end of the session paid for: a payout is always due 24 hours after it
        (billing.payouts.payout_schedule)."""
        from billing.incentive_due import INCENTIVE_DELAY

        return self.due_at - INCENTIVE_DELAY
