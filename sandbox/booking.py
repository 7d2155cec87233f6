"""The participant's side of booking: drive Rally's booking page at the invitation URL.

Rally's page answers `Accept: application/json` with {"timezone", "slots": [{startsAt,
endsAt}]} and books on a POST of {"startsAt"}; the sandbox reports Rally's answer as is.
"""

import httpx

from sandbox import webhooks
from sandbox.errors import ApiError
from sandbox.models import Applicant


def _body(response):
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:500]}


def applicant_book(*, applicant_id, starts_at=None):
    applicant = Applicant.objects.filter(pk=applicant_id).first()
    if applicant is None:
        raise ApiError(404, "not_found", "Not found", "No such applicant.")
    if not applicant.invitation_url:
        raise ApiError(409, "invalid_state_transition", "Not invited",
                       "This applicant has no invitation URL: approve them with a "
                       "schedulingUrl first.", meta={"allowedActions": ["approvals"]})
    headers = {"Accept": "application/json"}
    try:
        with webhooks.http_client() as client:
            page = client.get(applicant.invitation_url, headers=headers)
            if page.status_code != 200:
                raise ApiError(502, "booking_page_refused", "Rally's booking page refused",
                               f"GET answered {page.status_code}.",
                               meta={"rallyStatus": page.status_code,
                                     "rallyResponse": _body(page)})
            offered = _body(page).get("slots") or []
            if starts_at is None:
                if not offered:
                    raise ApiError(409, "no_free_slots", "No free slots",
                                   "Rally's booking page offers no free slot.",
                                   meta={"rallyStatus": 200, "rallyResponse": _body(page)})
                starts_at = offered[0]["startsAt"]
            booked = client.post(applicant.invitation_url, json={"startsAt": starts_at},
                                 headers=headers)
    except httpx.HTTPError as exc:
        raise ApiError(502, "booking_page_unreachable", "Rally's booking page is unreachable",
                       str(exc)) from exc
    answer = {"rallyStatus": booked.status_code, "rallyResponse": _body(booked),
              "startsAt": starts_at, "timezone": _body(page).get("timezone")}
    if not 200 <= booked.status_code < 300:
        raise ApiError(409 if booked.status_code == 409 else 502, "booking_refused",
                       "Rally refused the booking",
                       str(answer["rallyResponse"].get("error") or booked.status_code),
                       meta=answer)
    return answer
