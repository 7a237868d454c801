"""Reply codes and replies, with the codes clients get wrong boosted."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from harness._strategies._checks import check_bool, check_strategy
from harness.replies import SMTPReply

TRANSIENT_CODES = (421, 450, 451, 452, 454)
"""4yz codes with a meaning clients must know: closing (421), mailbox busy, local error,
storage, TLS not available (RFC 5321 §4.2.3, RFC 3207)."""
PERMANENT_CODES = (500, 501, 502, 503, 504, 530, 535, 550, 551, 552, 553, 554)
"""5yz codes real servers send for syntax, auth, mailbox and policy refusals."""

_TEXTS = ("Try again later", "Local error in processing", "Mailbox unavailable",
          "Greylisted, try again later", "Requested action not taken", "")
_TEXT_ALPHABET = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@st.composite
def reply_codes(draw: st.DrawFn, *, transient: bool = True,
                permanent: bool = True) -> int:
    """SMTP failure codes: 4yz when ``transient``, 5yz when ``permanent``.

    Codes with a defined meaning (421, 450, 451, 452, 454, 550, 552, 554...) come up
    three times in four; the rest are any code of the class, since a client must go by
    the first digit (RFC 5321 §4.2.1).
    """
    check_bool("transient", transient)
    check_bool("permanent", permanent)
    if not (transient or permanent):
        raise InvalidArgument(
            "reply_codes(transient=False, permanent=False) can generate nothing;"
            " allow one of them"
        )
    classes = [c for c, on in ((4, transient), (5, permanent)) if on]
    boosted = [c for c in (*TRANSIENT_CODES, *PERMANENT_CODES) if c // 100 in classes]
    if draw(st.integers(0, 3)) > 0:  # three in four draws: a code with a meaning
        return draw(st.sampled_from(boosted))
    first = draw(st.sampled_from(classes))
    return first * 100 + draw(st.integers(0, 99))


@st.composite
def replies(draw: st.DrawFn, *, codes: SearchStrategy[int] | None = None,
            multiline: bool = True) -> SMTPReply:
    """:class:`harness.SMTPReply` values with a code from ``codes`` (default
    :func:`reply_codes`), an enhanced status code of the same class half the time, and a
    short text; with ``multiline``, sometimes several lines (``451-...`` ``451 ...``)."""
    strategy = reply_codes() if codes is None else check_strategy("codes", codes)
    check_bool("multiline", multiline)
    code = draw(strategy)
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        raise InvalidArgument(f"codes drew {code!r}, not an SMTP reply code (200-599)")
    enhanced = None
    if code // 100 in (2, 4, 5) and draw(st.booleans()):
        enhanced = f"{code // 100}.{draw(st.integers(0, 7))}.{draw(st.integers(0, 9))}"
    text = draw(st.sampled_from(_TEXTS) | st.text(_TEXT_ALPHABET, max_size=60))
    lines: tuple[str, ...] = ()
    if multiline and draw(st.integers(0, 3)) == 3:  # one in four; shrinks to one line
        lines = tuple(draw(st.lists(st.text(_TEXT_ALPHABET, max_size=40), min_size=1,
                                    max_size=3)))
    text = text.strip()
    if enhanced is None and text:  # a text starting "2.0.0 " is an enhanced code on the wire
        wire = SMTPReply.parse(f"{code} {text}")
        enhanced, text = wire.enhanced, wire.text
    return SMTPReply(code, text, enhanced, tuple(line.strip() for line in lines))
