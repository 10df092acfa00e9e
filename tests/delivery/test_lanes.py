"""The sender task's lanes while stopping: from the start of a stop nothing is queued any
more, so a user queued again while being sent to is left pending for the next start (it is
not served during the stop's grace)."""

from __future__ import annotations

from bot.sessions.model import Delivery
from tests.delivery.conftest import Rig

ANA = "5491155550001"


async def test_a_user_queued_again_while_sent_to_stays_pending_once_stopping(rig: Rig) -> None:
    outbox = rig.outbox()
    await outbox.start()
    rig.graph.delay_next(0.3)  # the fake holds its answer: "uno" is in flight
    [first] = await rig.queue(ANA, "uno")
    await outbox.submit([first])
    await rig.graph.wait_for(lambda requests: len(requests) == 1)
    [second] = await rig.queue(ANA, "dos")
    await outbox.submit([second])  # queued again while being sent to
    await outbox.stop(grace_s=5.0)  # returns once "uno" is answered
    assert rig.graph.texts_to(ANA) == ["uno"]
    assert [m.status for m in await rig.history(ANA)] == [Delivery.SENT, Delivery.PENDING]
