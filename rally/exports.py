"""CSV exports: streamed row by row, every text cell guarded against formula injection."""

import csv

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """Spreadsheets run cells that start with = + - @ (or a tab or carriage return) as
    formulas: such text is quoted with a leading apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


class _Echo:
    def write(self, value):
        return value


def csv_response(*, filename, header, rows):
    """A streamed CSV download: `rows` is an iterable of lists (each cell through csv_cell)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
