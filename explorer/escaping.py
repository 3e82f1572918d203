"""Text from outside the program (file names, FITS header values, error messages, catalogue strings,
page-address values) made inert before it reaches the page.

Toasts set their message as HTML and Markdown panes pass HTML through, so an uploaded file named
``<img src=x onerror=…>.fits`` would run script in the visitor's browser. :func:`escape_text` is the
one place such text is escaped: every notification, status line, alert and Markdown pane that
shows outside text passes it through here.
"""

from __future__ import annotations

import re

# HTML's five specials and the characters that make Markdown syntax (emphasis, code, links,
# tables, raw HTML, backslash escapes, headings) become numeric character references: HTML and
# Markdown (CommonMark) both render a reference as the literal character and never as markup.
_SPECIAL = "&<>\"'`*_[]()\\|~#!{}$"
_ENTITY = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def escape_text(value) -> str:
    """``str(value)`` on one line, safe to show as HTML, as Markdown or in a notification.

    Control characters and line breaks become one space; HTML and Markdown specials become
    numeric character references (HTML 5 §13.1.4; CommonMark 0.31 §2.5), so the visitor reads
    exactly the characters of ``value`` and nothing in it is interpreted.
    """
    return _CONTROL.sub(" ", str(value)).translate(_ENTITY)
