"""Making test output safe to show: every control byte visible, nothing a consumer could choke on."""

import re

# XML 1.0 forbids these outright; in HTML and on a terminal they are invisible or act as commands
# (ESC starts colour and cursor sequences). Tab, newline and carriage return are kept.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _visible(match):
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text):
    """`text` with every control character (bar tab, newline, CR) written as a visible \\xNN escape."""
    if text is None:
        return ""
    return _CONTROL.sub(_visible, str(text))


def one_line(text, limit=300):
    """A single short line for attributes and tables."""
    line = clean(text).replace("\r", " ").replace("\n", " ").replace("\t", " ").strip()
    return line if len(line) <= limit else line[:limit - 1] + "…"


def cap(text, limit):
    """At most `limit` characters: the head and the tail, where the interesting parts of logs are."""
    text = clean(text)
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + f"\n[... {len(text) - 2 * half} characters left out ...]\n" + text[-half:]
