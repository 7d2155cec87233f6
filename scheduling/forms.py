"""The Scheduling tab's form and the booking page's small forms. Parsing only: services decide."""

import re
from datetime import time

from django import forms

from rally.forms import CountField
from scheduling.host_calendars import ConnectInput
from scheduling.models import (
    REMINDER_HOUR_CHOICES,
    REMINDERS_UI_REASON,
    ROLLING_UNAVAILABLE_REASON,
    HostCalendar,
    LocationKind,
    weekly_hours_from_json,
)
from scheduling.services import SettingsInput, settings_guests, settings_hosts
from scheduling.slots import (
    WEEKDAY_NAMES,
    AvailabilityError,
    time_zone_choices,
    weekly_hours_validate,
)

#: A time input's value ("09:00", or "09:00:00" when a browser sends seconds).
TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?\s*$")
#: Time ranges a day can have on the Scheduling tab (a lunch break needs two).
RANGES_PER_DAY = 4


def _time(hours, minutes, *, end=False):
    hours, minutes = int(hours), int(minutes)
    if end and hours == 24 and minutes == 0:
        return time(0)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise AvailabilityError(f"{hours:02}:{minutes:02} is not a time of day.")
    return time(hours, minutes)


class TimeZoneField(forms.ChoiceField):
    """A zone typed in the searchable field (components/time_zone_field.html): any case,
    spaces for underscores ("europe/berlin", "America/New York") read as the listed zone."""

    def to_python(self, value):
        text = super().to_python(value).strip()
        listed = {str(zone).casefold(): zone for zone, _label in self.choices}
        return listed.get(text.replace(" ", "_").casefold(), text)


class SchedulingSettingsForm(forms.Form):
    hosts = forms.MultipleChoiceField(
        label="Hosts", widget=forms.CheckboxSelectMultiple,
        help_text="Study team members who run sessions. Each interview needs one free host.")
    time_zone = TimeZoneField(
        label="Time zone", help_text="The hosts' time zone: available hours are in it.",
        error_messages={"invalid_choice": "Choose a time zone from the list, like "
                                          "Europe/Berlin (“%(value)s” is not one)."})
    start_date = forms.DateField(label="Start date", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label="End date", required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    rolling_days = CountField(
        label="Rolling date range (next N days)", required=False, min_value=1, max_value=365,
        unit="days", sentence_label="the rolling date range",
        help_text="Leave empty to use the fixed date range.")
    unavailable_dates = forms.CharField(
        label="Unavailable dates", required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Days off inside the range, like 2026-12-24, 2026-12-25.")
    buffer_minutes = CountField(label="Buffer between sessions (minutes)", min_value=0,
                                max_value=240, unit="minutes",
                                sentence_label="the buffer between sessions")
    minimum_notice_minutes = CountField(
        label="Minimum notice (minutes)", min_value=0, max_value=60 * 24 * 30, unit="minutes",
        sentence_label="the minimum notice",
        help_text="How long before a session it can still be booked: 120 is 2 hours.")
    group_capacity = CountField(label="Participants per group session", min_value=1,
                                max_value=50, required=False,
                                sentence_label="the number of participants per group session")
    location_kind = forms.ChoiceField(label="Where sessions happen", choices=LocationKind.choices,
                                      widget=forms.RadioSelect, required=False)
    meeting_url = forms.URLField(label="Meeting link", required=False, assume_scheme="https",
                                 help_text="The same video link for every session.")
    meeting_url_pattern = forms.CharField(
        label="Link pattern", required=False, max_length=500,
        help_text="{session_id} becomes each session's own id, like "
                  "https://meet.jit.si/rally-{session_id} for a Jitsi room per session.")
    address = forms.CharField(label="Address", required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Where participants meet you, with any directions.")
    guests = forms.MultipleChoiceField(
        label="Guests (observers)", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Workspace members who receive the calendar invite of every session.")
    reminder_hours = forms.MultipleChoiceField(
        label="Reminders", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(str(hours), f"{hours} hour{'s' if hours != 1 else ''} before")
                 for hours in REMINDER_HOUR_CHOICES],
        help_text="Emailed to each participant in their own time zone, with the join link "
                  "and their link to reschedule or cancel.")

    def __init__(self, *args, study, team, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.team = {str(user.pk): user for user in team}
        self.members = {str(user.pk): user for user in members}
        self.fields["hosts"].choices = [(pk, user.display_name) for pk, user in self.team.items()]
        self.fields["guests"].choices = [(pk, user.display_name)
                                         for pk, user in self.members.items()]
        self.fields["time_zone"].choices = [(zone, zone) for zone in time_zone_choices()]
        if study.is_user_interviews:
            self.fields["rolling_days"].disabled = True
            self.fields["rolling_days"].help_text = ROLLING_UNAVAILABLE_REASON
        if study.study_type != "group_interview":
            del self.fields["group_capacity"]
        if study.is_user_interviews:
            self.fields["reminder_hours"].disabled = True
            self.fields["reminder_hours"].help_text = REMINDERS_UI_REASON
        # Weekly hours: a pair of time inputs ("From", "Until") per range, up to
        # RANGES_PER_DAY a day; an empty day is unavailable.
        for day, name in enumerate(WEEKDAY_NAMES):
            for index in range(RANGES_PER_DAY):
                for end, word in ((False, "from"), (True, "until")):
                    self.fields[_hours_field(day, index, end)] = forms.CharField(
                        label=f"{name}, range {index + 1}, {word}", required=False,
                        widget=forms.TimeInput(attrs={"type": "time", "step": 300}))

    def weekly_rows(self):
        """Per weekday: its name, its error, and the ranges to show ({"start", "end"} bound
        fields): the filled ones and one empty to add, at most RANGES_PER_DAY."""
        days = []
        for day, name in enumerate(WEEKDAY_NAMES):
            filled = [index for index in range(RANGES_PER_DAY)
                      if self._value(_hours_field(day, index, False))
                      or self._value(_hours_field(day, index, True))]
            shown = min(max(filled, default=-1) + 2, RANGES_PER_DAY)
            days.append({
                "day": day, "name": name,
                "errors": self.errors.get(_day_error_field(day), []),
                "ranges": [{"number": index + 1,
                            "start": self[_hours_field(day, index, False)],
                            "end": self[_hours_field(day, index, True)]}
                           for index in range(shown)],
            })
        return days

    def _value(self, name):
        value = self[name].value()
        return (value or "").strip() if isinstance(value, str) else value

    @classmethod
    def initial_from(cls, scheduling):
        hours = weekly_hours_from_json(scheduling.weekly_hours)
        initial = {
            "hosts": [str(user.pk) for user in settings_hosts(scheduling)],
            "guests": [str(user.pk) for user in settings_guests(scheduling)],
            "time_zone": scheduling.time_zone,
            "start_date": scheduling.start_date, "end_date": scheduling.end_date,
            "rolling_days": scheduling.rolling_days,
            "unavailable_dates": ", ".join(d.isoformat() for d in scheduling.unavailable_dates),
            "buffer_minutes": scheduling.buffer_minutes,
            "minimum_notice_minutes": scheduling.minimum_notice_minutes,
            "group_capacity": scheduling.group_capacity,
            "location_kind": scheduling.location_kind,
            "meeting_url": scheduling.meeting_url,
            "meeting_url_pattern": scheduling.meeting_url_pattern,
            "address": scheduling.address,
            "reminder_hours": [str(hours) for hours in scheduling.reminder_hours or []],
        }
        for day in range(7):
            for index, (start, end) in enumerate(hours.get(day, [])[:RANGES_PER_DAY]):
                initial[_hours_field(day, index, False)] = f"{start:%H:%M}"
                initial[_hours_field(day, index, True)] = f"{end:%H:%M}"
        return initial

    def clean_unavailable_dates(self):
        dates = []
        field = forms.DateField()
        for part in re.split(r"[\s,]+", self.cleaned_data["unavailable_dates"] or ""):
            if part:
                try:
                    dates.append(field.clean(part))
                except forms.ValidationError as exc:
                    raise forms.ValidationError(
                        f"“{part}” is not a date. Write dates like 2026-12-24.") from exc
        return dates

    def clean(self):
        cleaned = super().clean()
        hours = {}
        for day, name in enumerate(WEEKDAY_NAMES):
            try:
                hours[day] = self._day_ranges(day, name, cleaned)
                weekly_hours_validate({day: hours[day]})
            except AvailabilityError as exc:
                self.add_error(_day_error_field(day), f"{name}: {exc}")
        cleaned["weekly_hours"] = hours
        return cleaned

    def _day_ranges(self, day, name, cleaned):
        ranges = []
        for index in range(RANGES_PER_DAY):
            start = (cleaned.get(_hours_field(day, index, False)) or "").strip()
            end = (cleaned.get(_hours_field(day, index, True)) or "").strip()
            if not start and not end:
                continue
            which = f"range {index + 1}" if index else "the range"
            if not start or not end:
                raise AvailabilityError(f"give both the start and the end of {which}.")
            begins, ends = _time_of_day(start), _time_of_day(end, end=True)
            if ends != time(0) and ends <= begins:
                raise AvailabilityError(f"{which} ends at {end}, before it starts at {start}.")
            ranges.append((begins, ends))
        return sorted(ranges)

    def settings_input(self):
        data = self.cleaned_data
        return SettingsInput(
            hosts=[self.team[pk] for pk in data["hosts"]],
            time_zone=data["time_zone"],
            start_date=data["start_date"], end_date=data["end_date"],
            rolling_days=None if self.study.is_user_interviews else data.get("rolling_days"),
            weekly_hours={day: ivs for day, ivs in data["weekly_hours"].items() if ivs},
            unavailable_dates=data["unavailable_dates"],
            buffer_minutes=data["buffer_minutes"],
            minimum_notice_minutes=data["minimum_notice_minutes"],
            group_capacity=(data.get("group_capacity") or 1) if "group_capacity" in self.fields
            else self.initial.get("group_capacity") or 6,
            meeting_url=data.get("meeting_url") or "",
            location_kind=data.get("location_kind") or LocationKind.FIXED_LINK,
            meeting_url_pattern=data.get("meeting_url_pattern") or "",
            address=data.get("address") or "",
            guests=[self.members[pk] for pk in data.get("guests") or []],
            reminder_hours=(None if self.fields["reminder_hours"].disabled
                            else [int(hours) for hours in data.get("reminder_hours") or []]),
        )

    def apply_service_errors(self, error):
        """Put a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                target = field if field in self.fields else (
                    _day_error_field(0) if field == "weekly_hours" else None)
                for message in messages:
                    self.add_error(target, message)
        else:
            for message in error.messages:
                self.add_error(None, message)


class CalendarConnectForm(forms.Form):
    """Connecting a host's own calendar (parsing only; the service validates the rest)."""

    kind = forms.ChoiceField(
        label="Kind of calendar", widget=forms.RadioSelect,
        choices=[(HostCalendar.Kind.CALDAV, "CalDAV (iCloud, Fastmail, Nextcloud, …): Rally "
                                            "reads busy times and can add your sessions"),
                 (HostCalendar.Kind.FEED, "Calendar feed (a secret iCal address): Rally "
                                          "reads busy times only")])
    server_url = forms.CharField(
        label="CalDAV server address", required=False, max_length=2000,
        help_text="For iCloud: https://caldav.icloud.com/ — for Fastmail: "
                  "https://caldav.fastmail.com/",
        widget=forms.URLInput(attrs={"autocomplete": "url", "spellcheck": "false"}))
    username = forms.CharField(label="User name", required=False, max_length=200,
                               help_text="Usually your email address.",
                               widget=forms.TextInput(attrs={"autocomplete": "username",
                                                             "spellcheck": "false"}))
    password = forms.CharField(
        label="App password", required=False, max_length=500, strip=False,
        help_text="An app-specific password made for Rally in your account's security "
                  "settings (not your main password). Stored encrypted. Leave empty to keep "
                  "the one Rally has.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    feed_url = forms.CharField(
        label="Calendar feed address", required=False, max_length=2000,
        help_text="The secret address in iCal format (ends in .ics). Stored encrypted.",
        widget=forms.URLInput(attrs={"spellcheck": "false"}))

    def connect_input(self):
        data = self.cleaned_data
        return ConnectInput(kind=data["kind"], server_url=data["server_url"],
                            username=data["username"], password=data["password"],
                            feed_url=data["feed_url"])

    def apply_service_errors(self, error):
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


def _hours_field(day, index, end):
    return f"hours_{day}_{index}_{'end' if end else 'start'}"


def _day_error_field(day):
    """A day's problems are shown with the day, held by its first "from" field."""
    return _hours_field(day, 0, False)


def _time_of_day(text, *, end=False):
    match = TIME_OF_DAY.match(text)
    if match is None:
        raise AvailabilityError(f"“{text}” is not a time of day; use a time like 09:00.")
    return _time(match[1], match[2], end=end)
