"""Hypothesis strategies for SMTP faults, in Hypothesis' own style.

::

    from hypothesis import given
    from harness import strategies as hs

    @given(plan=hs.fault_plans(transient_only=True, max_attempts=4))
    def test_mailer_delivers_exactly_once(smtp_engine, plan):
        check_properties(smtp_engine, plan, send_with_my_mailer, policy=MY_POLICY)

Every strategy takes keyword arguments only, rejects bad ones with Hypothesis'
``InvalidArgument`` when first drawn from, and boosts the values clients get wrong
(421, 450, 451, 452, 454, 550, 552, 554; drops right after the final dot).
"""

from harness._strategies.faults import fault_plans, faults, toxics
from harness._strategies.replies import replies, reply_codes

__all__ = ["fault_plans", "faults", "replies", "reply_codes", "toxics"]


def _check_exports(public: set[str]) -> None:
    if set(__all__) != public:
        raise ImportError(f"harness.strategies exports {sorted(public)}, __all__ {__all__}")


_check_exports({n for n in dir() if n[0] not in "_@"})
del _check_exports
