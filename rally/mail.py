"""The development email backend: Django's console backend, with attachments named and sized
instead of printed as base64 (a receipt's PDF would fill the terminal)."""

import copy

from django.core.mail.backends.console import EmailBackend


class ConsoleEmailBackend(EmailBackend):
    def write_message(self, message):
        attachments = list(getattr(message, "attachments", []) or [])
        if not attachments:
            return super().write_message(message)
        shown = copy.copy(message)
        shown.attachments = []
        super().write_message(shown)
        for attachment in attachments:
            name, content, mimetype = _parts(attachment)
            size = len(content) if content is not None else 0
            self.stream.write(f"[attachment not shown: {name} ({mimetype}, {size:,} bytes)]\n")


def _parts(attachment):
    if isinstance(attachment, tuple):  # (filename, content, mimetype) or a named tuple
        name, content, mimetype = [*attachment, None, None, None][:3]
        return name or "unnamed", content, mimetype or "application/octet-stream"
    payload = attachment.get_payload(decode=True)  # a MIME part
    return (attachment.get_filename() or "unnamed", payload, attachment.get_content_type())
