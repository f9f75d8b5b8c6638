"""The kit's own HTML pages (kit/page_templates/*.html.j2), rendered by Jinja2 with
autoescaping: every value is escaped unless it is Markup, so student ids, statuses and any
text from a submission stay data. The similarity page (kit/similarity_report.py) and the
class report (kit/report.py) are rendered here.
"""
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

PAGES = Environment(loader=FileSystemLoader(Path(__file__).with_name("page_templates")),
                    autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True)


def render(template, **values) -> str:
    """The page `template` (a file name under kit/page_templates/) filled with `values`."""
    return PAGES.get_template(template).render(**values)
