"""How a planned read travels: GET on logical names (:mod:`.get`) or READ on short names (:mod:`.shortname`).

The client (:mod:`.client`) asks its service for each request's APDU, parses answers with it and asks it for the
next block of an answer in blocks; a read (:mod:`.reading`, :mod:`.profile`) never knows which one is in use.
"""

from __future__ import annotations

from typing import Protocol

from .get import Answer, Block, Result, get_next, get_normal, get_with_list, parse_get_response
from .reading import Request


class Service(Protocol):
    """One referencing's requests and answers."""

    def request(self, invoke_id: int, request: Request) -> bytes | None:
        """The APDU asking for ``request``; ``None`` when every result is known without asking."""

    def parse(self, apdu: bytes, invoke_id: int) -> Answer | Block:
        """An answer, or one block of an answer in blocks."""

    def next_block(self, invoke_id: int, block: Block) -> bytes:
        """The request for the block after ``block``."""

    def results(self, answered: tuple[Result, ...]) -> tuple[Result, ...]:
        """One result per attribute of the request, from the meter's answer."""


class LogicalNameService:
    """GET-Request-Normal (with selective access), GET-Request-With-List, GET-Request-Next."""

    def request(self, invoke_id: int, request: Request) -> bytes | None:
        if len(request.attributes) == 1:
            return get_normal(invoke_id, request.attributes[0], request.access)
        return get_with_list(invoke_id, list(request.attributes))

    def parse(self, apdu: bytes, invoke_id: int) -> Answer | Block:
        return parse_get_response(apdu, invoke_id)

    def next_block(self, invoke_id: int, block: Block) -> bytes:
        return get_next(invoke_id, block.number)

    def results(self, answered: tuple[Result, ...]) -> tuple[Result, ...]:
        return answered
