"""The fake server parses MAIL and RCPT addresses as aiosmtpd does (it remembers each
parse, and skips the class aiosmtpd defines on every call): the same address, rest and
refusal for any argument."""

import asyncio

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.protocol import FaultySMTP, SessionHost
from harness.timeline import Recorder

_PIECES = st.sampled_from(
    ["<", ">", "@", ".", '"', "\\", " ", "(", ")", ",", ":", ";", "[", "]", "=",
     "a", "Z", "0", "é", "user", "example.org", "SIZE=100", "BODY=8BITMIME", "\t", "<>"]
)
ARGUMENTS = st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=12).map("".join))


def outcome(session: SMTP, arg: str) -> object:
    """What ``_getaddr`` returns, or the kind of error it raises (the email package's
    parser raises IndexError on some fragments, such as a lone '<')."""
    try:
        return session._getaddr(arg)
    except Exception as error:  # the same error both ways is the point
        return type(error)


@pytest.fixture(scope="module")
def sessions() -> tuple[FaultySMTP, SMTP]:
    loop = asyncio.new_event_loop()
    try:
        host = SessionHost(FaultSchedule([], seed=1), Recorder(), "localhost")
        return FaultySMTP(host, idle_timeout=30, loop=loop), SMTP(object(), loop=loop)
    finally:
        loop.close()


@given(ARGUMENTS)
def test_every_argument_parses_as_aiosmtpd_parses_it(
    sessions: tuple[FaultySMTP, SMTP], arg: str
) -> None:
    ours, theirs = sessions
    assert outcome(ours, arg) == outcome(theirs, arg)
    assert outcome(ours, arg) == outcome(theirs, arg)  # remembered, still the same


@pytest.mark.parametrize("arg", [
    "<a@example.org>", "<a@example.org> SIZE=10", "a@example.org", "<>", "", "<a@b",
    "not an address", "<\"quoted local\"@example.org>", "<" + "x" * 70 + "@example.org>",
])
def test_known_arguments_parse_as_aiosmtpd_parses_them(
    sessions: tuple[FaultySMTP, SMTP], arg: str
) -> None:
    ours, theirs = sessions
    assert ours._getaddr(arg) == theirs._getaddr(arg)
    ours.local_part_limit = theirs.local_part_limit = 64
    try:
        assert ours._getaddr(arg) == theirs._getaddr(arg)
    finally:
        ours.local_part_limit = theirs.local_part_limit = 0
