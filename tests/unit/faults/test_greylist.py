from harness import faults
from harness.replies import S451_GREYLISTED
from harness.smtp.faults.base import Send
from tests.unit.faults.context import context


def test_greylist_defers_until_the_window_passed() -> None:
    fault = faults.Greylist(seconds=60)
    state: dict[object, object] = {}
    triplet = {"peer_host": "127.0.0.1", "mail_from": "a@x", "address": "b@y", "state": state}
    assert fault.act(context("rcpt", now=100.0, **triplet)) == Send(S451_GREYLISTED)
    assert fault.act(context("rcpt", now=159.9, **triplet)) == Send(S451_GREYLISTED)
    assert fault.act(context("rcpt", now=160.0, **triplet)) is None


def test_greylist_keys_on_the_whole_triplet() -> None:
    fault = faults.Greylist(seconds=60)
    state: dict[object, object] = {}
    fault.act(context("rcpt", now=0.0, mail_from="a@x", address="b@y", state=state))
    later = context("rcpt", now=61.0, mail_from="other@x", address="b@y", state=state)
    assert fault.act(later) is not None  # a new sender is a new triplet


def test_greylist_takes_a_custom_reply() -> None:
    fault = faults.Greylist(seconds=1, reply="450 4.2.0 Greylisted")
    action = fault.act(context("rcpt", address="b@y"))
    assert isinstance(action, Send) and action.reply.code == 450
