import pytest

from harness import InvalidFaultPlan, SMTPReply, faults
from harness.smtp.faults.base import Send
from tests.unit.faults.context import context


def test_reply_sends_the_parsed_reply() -> None:
    fault = faults.Reply(at="mail", reply="451 4.3.0 Local error")
    assert fault.act(context("mail")) == Send(SMTPReply(451, "Local error", "4.3.0"))


def test_421_always_closes_and_then_close_closes_others() -> None:
    assert faults.Reply(at="rcpt", reply="421 4.7.0 Bye").act(context("rcpt")).then_close  # type: ignore[union-attr]
    assert faults.Reply(at="dot", reply="250 OK", then_close=True).act(context("dot")).then_close  # type: ignore[union-attr]
    assert not faults.Reply(at="dot", reply="250 OK").act(context("dot")).then_close  # type: ignore[union-attr]


def test_reply_rejects_a_bad_reply_string() -> None:
    with pytest.raises(InvalidFaultPlan, match="does not start with a three-digit code"):
        faults.Reply(at="mail", reply="try again")


def test_reply_cannot_fire_at_tls() -> None:
    with pytest.raises(InvalidFaultPlan, match="at='tls' is not a phase this fault can fire at"):
        faults.Reply(at="tls", reply="421 x")
