"""Live updates of a workshop room: the event stream that phones and the projector follow (/w/{code}/events),
with a cap on the streams open at once per room and per address."""

from __future__ import annotations

import asyncio
import time

from litestar import Request, get
from litestar.datastructures import State
from litestar.exceptions import TooManyRequestsException
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from . import service

# How often a live stream looks at the change counter, and how long one stream lasts
# (the browser reconnects by itself).
POLL_SECONDS = 1.0
STREAM_SECONDS = 15 * 60

# ====================== live updates ======================

class StreamCaps:
    """Live-update streams open at once in this worker, per room and per address (an address is
    counted by its keyed hash, as in the rate limiter). A seat is given back when its stream ends,
    and in any case once the stream's time is over (a stream never started leaves no seat taken)."""

    def __init__(self) -> None:
        self.seats: dict[int, tuple[int, str, float]] = {}
        self._next = 0

    def take(self, room: int, address: str, per_room: int, per_address: int) -> int | None:
        now = time.monotonic()
        self.seats = {k: v for k, v in self.seats.items() if v[2] > now}
        if sum(1 for r, _, _ in self.seats.values() if r == room) >= per_room or \
                sum(1 for _, a, _ in self.seats.values() if a == address) >= per_address:
            return None
        self._next += 1
        self.seats[self._next] = (room, address, now + STREAM_SECONDS + 30)
        return self._next

    def give_back(self, seat: int) -> None:
        self.seats.pop(seat, None)


STREAMS = StreamCaps()


@get("/{code:str}/events", include_in_schema=False)
async def events(code: str, request: Request, state: State) -> ServerSentEvent:
    """Sends `change` with the room's change counter whenever it moves. The counter
    lives in the database, so a change made through any worker reaches every stream."""
    async with state.read_sessionmaker() as db:
        ws = await service.room_by_code(request, db, code)
        ws_id = ws.id
    settings = state.settings
    who = state.limiter.digest("stream", state.limiter.address(request))
    seat = STREAMS.take(ws_id, who, settings.streams_per_room, settings.streams_per_address)
    if seat is None:
        raise TooManyRequestsException("Too many live views of this room are open. Reload the page to see "
                                       "what is new.", headers={"Retry-After": "30"})

    async def stream():
        try:
            async for message in changes():
                yield message
        finally:
            STREAMS.give_back(seat)

    async def changes():
        last = None
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        quiet = 0
        while loop.time() < end:
            async with state.read_sessionmaker() as db:
                cur = await service.current_version(db, ws_id)
            if cur is None:
                yield ServerSentEventMessage(event="gone", data="")
                return
            version, _status = cur
            if version != last:
                last = version
                quiet = 0
                yield ServerSentEventMessage(event="change", data=f"{version}", id=version)
            else:
                quiet += 1
                if quiet * POLL_SECONDS >= 20:
                    quiet = 0
                    yield ServerSentEventMessage(comment="still here")
            await asyncio.sleep(POLL_SECONDS)

    return ServerSentEvent(stream(), retry_duration=2000, headers={"Cache-Control": "no-store",
                                                                   "X-Accel-Buffering": "no"})
