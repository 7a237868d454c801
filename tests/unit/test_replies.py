import pytest

from harness import InvalidFaultPlan, SMTPReply


def test_parse_splits_code_enhanced_code_and_text() -> None:
    reply = SMTPReply.parse("421 4.7.0 Try again later")
    assert (reply.code, reply.enhanced, reply.text) == (421, "4.7.0", "Try again later")
    assert reply.is_transient and reply.closes_connection and not reply.is_permanent


def test_multiline_round_trips_to_the_wire() -> None:
    reply = SMTPReply.parse(["250-mx.test", "250-SIZE 100", "250 HELP"])
    assert reply.wire_lines() == ["250-mx.test", "250-SIZE 100", "250 HELP"]
    assert SMTPReply(250).wire_lines() == ["250"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hello", "does not start with a three-digit code"),
        ("199 too low", "not a 2xx-5xx SMTP reply code"),
        (["250-a", "251 b"], "carry different codes"),
        ([], "at least one line"),
    ],
)
def test_bad_replies_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(InvalidFaultPlan, match=message):
        SMTPReply.parse(spec)  # type: ignore[arg-type]


def test_enhanced_code_must_be_well_formed() -> None:
    with pytest.raises(InvalidFaultPlan, match="RFC 3463"):
        SMTPReply(451, "x", enhanced="4.7")


def test_line_breaks_in_text_are_refused() -> None:
    with pytest.raises(InvalidFaultPlan, match="line break"):
        SMTPReply(250, "a\r\nb")


def test_of_keeps_a_reply_and_parses_text() -> None:
    reply = SMTPReply(421, "Busy", "4.7.0")
    assert SMTPReply.of(reply) is reply
    assert SMTPReply.of("421 4.7.0 Busy") == reply
    assert SMTPReply.of(["250-a", "250 b"]).wire_lines() == ["250-a", "250 b"]
