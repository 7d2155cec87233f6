"""The sandbox's error objects, as UI_API.md writes them: `{"errors": [{status, code, ...}]}`."""


class ApiError(Exception):
    def __init__(self, status, code, title, detail="", *, pointer=None, meta=None, headers=None):
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or title
        self.pointer = pointer
        self.meta = meta
        self.headers = headers or {}

    def as_document(self):
        error = {"status": str(self.status), "code": self.code, "title": self.title,
                 "detail": self.detail}
        if self.pointer is not None:
            error["source"] = {"pointer": self.pointer}
        if self.meta:
            error["meta"] = self.meta
        return {"errors": [error]}


class ValidationFailed(ApiError):
    """One or more attribute errors; each becomes its own error object."""

    def __init__(self, problems):
        self.problems = problems  # [(pointer, detail)]
        super().__init__(422, "validation_failed", "Validation failed", problems[0][1],
                         pointer=problems[0][0])

    def as_document(self):
        return {"errors": [{"status": "422", "code": "validation_failed",
                            "title": "Validation failed", "detail": detail,
                            "source": {"pointer": pointer}} for pointer, detail in self.problems]}


def malformed(detail, pointer=None):
    return ApiError(400, "malformed", "Malformed request", detail, pointer=pointer)


def not_found(kind):
    return ApiError(404, "not_found", "Not found", f"No such {kind}.")


def invalid_transition(detail, allowed_actions):
    return ApiError(409, "invalid_state_transition", "Invalid state transition", detail,
                    meta={"allowedActions": allowed_actions})


def locked_after_launch(field):
    return ApiError(422, "locked_after_launch", "Locked after launch",
                    f"{field} cannot change after the recruit was launched.",
                    pointer=f"/data/attributes/{field}")
