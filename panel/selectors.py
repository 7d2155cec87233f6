"""Reads of the panel app: the workspace's contact rules, and who may be invited to a study
from the panel (with the governance flags shown when selecting)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Q

from panel.models import EMAIL_MAX_ATTEMPTS, RULE_WINDOW_DAYS, PanelInvitation, PanelRules
from participants.models import Application, Contact
from rally import clock


def panel_rules_for(workspace):
    """The workspace's rules (the defaults, unsaved, until an Admin changes them)."""
    rules = PanelRules.objects.filter(workspace=workspace).first()
    return rules or PanelRules(workspace=workspace)


def panel_rules_in_words(rules):
    words = []
    days = rules.recent_contact_days
    if days:
        words.append(f"Do not invite anyone contacted in the last {days} "
                     f"day{'s' if days != 1 else ''}")
    if rules.max_studies_per_90_days:
        words.append(f"At most {rules.max_studies_per_90_days} "
                     f"stud{'ies' if rules.max_studies_per_90_days != 1 else 'y'} per "
                     f"{RULE_WINDOW_DAYS} days")
    return words


@dataclass
class Candidate:
    """One panel person as the invite picker shows them for one study."""

    participant: object
    last_contacted_at: object = None
    studies_in_window: int = 0
    # Reasons the person is never invited (no override): opted out, already invited...
    blocked: list = field(default_factory=list)
    # Governance rules the person breaks (an Admin or Ops Manager may override, with a reason).
    flags: list = field(default_factory=list)

    @property
    def invitable(self):
        return not self.blocked and not self.flags

    @property
    def overridable(self):
        return not self.blocked and bool(self.flags)


def _days_words(days):
    return "today" if days < 1 else f"{days} day{'s' if days != 1 else ''} ago"


def candidates_for(*, study, participants, rules=None, now=None):
    """Candidates for these panel people (a list or queryset), in their order: four queries
    whatever their number."""
    people = list(participants)
    now = now or clock.now()
    rules = rules or panel_rules_for(study.workspace)
    ids = [person.pk for person in people]
    last_contact = dict(Contact.objects.filter(participant_id__in=ids).values("participant_id")
                        .annotate(last=Max("sent_at")).values_list("participant_id", "last")
                        .order_by())
    window_start = now - timedelta(days=RULE_WINDOW_DAYS)
    studies = dict(Contact.objects.filter(
        participant_id__in=ids, kind=Contact.Kind.INVITATION, sent_at__gte=window_start,
        study__isnull=False).exclude(study=study).values("participant_id")
        .annotate(count=Count("study", distinct=True))
        .values_list("participant_id", "count").order_by())
    invited = set(PanelInvitation.objects.filter(study=study, participant_id__in=ids)
                  .values_list("participant_id", flat=True))
    applied = set(Application.objects.filter(study=study, participant_id__in=ids)
                  .values_list("participant_id", flat=True))
    candidates = []
    for person in people:
        candidate = Candidate(participant=person, last_contacted_at=last_contact.get(person.pk),
                              studies_in_window=studies.get(person.pk, 0))
        if person.opted_out_at is not None:
            candidate.blocked.append("Opted out")
        if not person.email:
            candidate.blocked.append("No email address")
        if person.pk in applied:
            candidate.blocked.append("Already applied")
        elif person.pk in invited:
            candidate.blocked.append("Already invited")
        days = rules.recent_contact_days
        if days and candidate.last_contacted_at and \
                candidate.last_contacted_at > now - timedelta(days=days):
            ago = (now - candidate.last_contacted_at).days
            candidate.flags.append(f"Contacted {_days_words(ago)} (rule: not within {days} "
                                   f"days)")
        limit = rules.max_studies_per_90_days
        if limit and candidate.studies_in_window >= limit:
            candidate.flags.append(f"Invited to {candidate.studies_in_window} "
                                   f"stud{'ies' if candidate.studies_in_window != 1 else 'y'} "
                                   f"in {RULE_WINDOW_DAYS} days (rule: at most {limit})")
        candidates.append(candidate)
    return candidates


def invitation_counts(*, study):
    """{"invited", "applied", "emails_pending", "emails_failed"} of a study's panel
    invitations (failed: the worker gave up; the reason is kept on the invitation)."""
    unsent = Q(email_sent_at__isnull=True)
    rows = PanelInvitation.objects.filter(study=study).aggregate(
        invited=Count("id"), applied=Count("application"),
        pending=Count("id", filter=unsent & Q(email_attempts__lt=EMAIL_MAX_ATTEMPTS)),
        failed=Count("id", filter=unsent & Q(email_attempts__gte=EMAIL_MAX_ATTEMPTS)))
    return {"invited": rows["invited"], "applied": rows["applied"],
            "emails_pending": rows["pending"], "emails_failed": rows["failed"]}
