"""Values as a spreadsheet or a terminal shows them, never run (grades.csv, the export,
the report's and similarity's CSV files, the terminal table)."""

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(text):
    """`text` as a spreadsheet shows it, never run: a leading formula character gets a `'`
    (OWASP's advice for CSV injection). Numbers the kit formats are never negative."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def printable(text):
    """`text` as a terminal may show it: control characters (escape sequences) become '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def fmt(value):
    return "" if value is None else f"{value:g}"
