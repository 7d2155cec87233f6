"""Reads of the applicant review pages (SPEC P1, P2): the Participants tab's filtered, sorted
list, its neighbours for "Previous/Next applicant", outbox progress and profile details.

Every read here is a fixed number of queries, whatever the number of applicants.
"""

from dataclasses import dataclass

from django.db.models import Case, Count, Func, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat

from participants import properties as props
from participants.models import Application
from participants.selectors import SEAT_HOLDING
from rally.models import OutboxOperation, PropertyDefinition
from rally.services import outbox_key
from studies.models import Characteristic
from studies.selectors import screener_version_questions, study_applied_criteria

Status = Application.Status

#: sort key -> (column label, order_by fields ascending)
SORTS = {
    "name": ("Name", ("participant__first_name", "participant__last_initial")),
    "status": ("Status", ("status_order",)),
    "applied": ("Applied", ("applied_at",)),
    "source": ("Source", ("source",)),
    "version": ("Screener version", ("screener_version",)),
    "matched": ("Matched criteria", ("matched_count",)),
}
DEFAULT_SORT = "-applied"

REVIEW_OPERATIONS = ("approve_applicant", "reject_applicant")

#: Statuses sort in the order an applicant moves through them, not alphabetically.
STATUS_ORDER = Case(*(When(status=status, then=Value(position))
                      for position, status in enumerate(Status.values)),
                    default=Value(len(Status.values)), output_field=IntegerField())


@dataclass(frozen=True)
class ListQuery:
    """What the list shows: a status filter, a name search and a sort ("-applied")."""

    status: str = ""
    search: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_params(cls, params):
        status = params.get("status", "")
        sort = params.get("sort", DEFAULT_SORT)
        return cls(status=status if status in Status.values else "",
                   search=" ".join(params.get("q", "").split())[:100],
                   sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT)

    @property
    def sort_key(self):
        return self.sort.lstrip("-")

    @property
    def descending(self):
        return self.sort.startswith("-")

    def params(self, **changes):
        values = {"status": self.status, "q": self.search, "sort": self.sort, **changes}
        return {key: value for key, value in values.items()
                if value and not (key == "sort" and value == DEFAULT_SORT)}


class JsonbArrayLength(Func):
    function = "jsonb_array_length"
    output_field = IntegerField()


def applications_review_list(*, study, query, keep=None):
    """The study's applications as the Participants tab lists them (participant joined).

    `keep` (an application id) stays in the list whatever the filter says: the profile of an
    applicant just reviewed out of the filter still has its neighbours.
    """
    applications = (Application.objects.filter(study=study).select_related("participant")
                    .annotate(matched_count=JsonbArrayLength("matched_criteria"),
                              status_order=STATUS_ORDER))
    wanted = Q()
    if query.status:
        wanted &= Q(status=query.status)
    if query.search:
        applications = applications.annotate(full_name=Concat(
            "participant__first_name", Value(" "), "participant__last_initial"))
        wanted &= Q(full_name__icontains=query.search)
    if wanted:
        applications = applications.filter(wanted | Q(pk=keep) if keep else wanted)
    fields = SORTS[query.sort_key][1]
    prefix = "-" if query.descending else ""
    return applications.order_by(*(prefix + field for field in fields), prefix + "id")


def application_neighbours(*, study, query, application):
    """(previous, next) application ids around `application` in the list's order (None at
    either end); an application outside the filter keeps its place among the others."""
    ids = list(applications_review_list(study=study, query=query, keep=application.pk)
               .values_list("id", flat=True))
    try:
        index = ids.index(application.pk)
    except ValueError:
        return None, None
    return (ids[index - 1] if index > 0 else None,
            ids[index + 1] if index + 1 < len(ids) else None)


def seats_from_counts(counts):
    return sum(counts[status] for status in SEAT_HOLDING)


def review_progress(applications):
    """{application id: OutboxOperation} of the latest review operation sent to UI for each
    of `applications` (one query), so a row shows pending → done."""
    keys = {outbox_key(operation, application.pk): application.pk
            for application in applications for operation in REVIEW_OPERATIONS}
    progress = {}
    rows = OutboxOperation.objects.filter(idempotency_key__in=keys).order_by("created_at")
    for row in rows:
        progress[keys[row.idempotency_key]] = row
    return progress


def criteria_described(criteria):
    """[{"name", "values"}] for stored criteria ([{"characteristic": slug, "values": [...]}]),
    with the catalog's names and choice labels where the catalog knows them."""
    slugs = {item.get("characteristic") for item in criteria if isinstance(item, dict)}
    catalog = {c.slug: c for c in Characteristic.objects.filter(slug__in=slugs)
               .prefetch_related("choices")}
    described = []
    for item in criteria:
        if not isinstance(item, dict):
            continue
        characteristic = catalog.get(item.get("characteristic"))
        labels = ({choice.external_id: choice.label for choice in characteristic.choices.all()}
                  if characteristic else {})
        values = item.get("values") or []
        if not isinstance(values, list):
            values = [values]
        described.append({
            "slug": str(item.get("characteristic", "")),
            "name": (characteristic.name if characteristic
                     else _humanize(str(item.get("characteristic", "")))),
            "values": [labels.get(str(value), str(value)) for value in values],
        })
    return described


def unmet_described(application, study):
    """The criteria an applicant did not meet, each with their own answer ("values") and what
    the study asks for ("required", from the study's audience; "" when it no longer asks)."""
    if not application.unmet_criteria:
        return []
    required = {criterion.slug: criterion.summary for criterion in study_applied_criteria(study)}
    return [{**item, "required": required.get(item["slug"], "")}
            for item in criteria_described(application.unmet_criteria)]


def profile_properties(participant, *, show_pii):
    """[{"label", "value"}] of the person's property values (from screener answers or, for
    panel people, edits and imports), in label order; PII ones only when `show_pii`."""
    values = participant.properties or {}
    if not values:
        return []
    definitions = PropertyDefinition.objects.filter(
        workspace_id=participant.workspace_id, key__in=list(values)).order_by("label")
    return [{"label": definition.label, "value": props.display(definition, values[definition.key])}
            for definition in definitions if show_pii or not definition.is_pii
            if props.display(definition, values[definition.key])]


def _humanize(slug):
    """"job_function" → "Job function", for a criterion the local catalog does not know yet."""
    return slug.replace("_", " ").replace("-", " ").strip().capitalize()


def screener_answers(application):
    """[{"question", "answer"}] of the applicant's screener answers, with the question text of
    the version they answered; `known` is False when that version is not stored."""
    questions = None
    if application.screener_version is not None:
        questions = screener_version_questions(application.study, application.screener_version)
    by_uid = {str(question.get("uid")): question for question in questions or []}
    answers = []
    for response in application.screener_responses or []:
        if not isinstance(response, dict):
            continue
        question = by_uid.get(str(response.get("questionUid")))
        answers.append({
            "question": question["text"] if question else None,
            "question_uid": response.get("questionUid", ""),
            "answer": _answer_text(response, question),
        })
    return {"answers": answers, "known": questions is not None}


def _answer_text(response, question):
    if "answerUids" in response:
        options = {str(option.get("uid")): option.get("label")
                   for option in (question or {}).get("options", [])}
        uids = response.get("answerUids") or []
        return ", ".join(options.get(str(uid), str(uid)) for uid in uids) or "—"
    if (question or {}).get("type") == "scale" and response.get("number") is not None:
        return f"{response['number']} of {question.get('max') or 5}"
    for key in ("text", "number", "date"):
        if key in response and response[key] not in (None, ""):
            return str(response[key])
    return "—"


def participant_history(*, application):
    """The participant's other applications in this workspace (study name and status)."""
    return list(Application.objects.filter(participant=application.participant)
                .exclude(pk=application.pk).select_related("study")
                .order_by("-applied_at"))


# The studies list's columns (registered by participants.apps) -------------------------------


def _count_of(applications):
    counted = (applications.filter(study=OuterRef("pk")).order_by().values("study")
               .annotate(count=Count("id")).values("count"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def studies_with_applicant_counts(studies):
    """Annotate a studies queryset with `applicant_count` and `seats_taken` (subqueries, so
    the list stays one query however many applicants there are)."""
    return studies.annotate(
        applicant_count=_count_of(Application.objects.all()),
        seats_taken=_count_of(Application.objects.filter(status__in=SEAT_HOLDING)))


