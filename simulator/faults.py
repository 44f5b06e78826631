"""The simulator's fault plan: which fault a cycle (one sign-on, or one push) suffers, and what that means.

The responder and the push sender ask the plan questions ("does this cycle answer?", "truncate at?") instead of
comparing fault names, so what each fault does is written down once, here.
"""

from __future__ import annotations

from enum import StrEnum
import random


class Fault(StrEnum):
    NO_ANSWER = "no_answer"
    GARBAGE = "garbage"
    BAD_BCC = "bad_bcc"
    TRUNCATED = "truncated"
    SLOW = "slow"
    ECHO = "echo"
    DROP_AFTER_IDENT = "drop_after_ident"
    WRONG_BAUD = "wrong_baud"
    UNPLUG = "unplug"
    METER_RESET = "meter_reset"
    INTERMITTENT = "intermittent"
    # the DLMS server's (simulator/dlms_server.py, cosem_server.py)
    NO_UA = "no_ua"
    NAK_READOUT = "nak_readout"  # an E550/ZMD: announces mode E (\\2) but NAKs a readout asked without a password
    STAYS_AT_300 = "stays_at_300"  # a ZMD120 in mode E: acknowledges the speed it proposed, then stays at 300 Bd
    AARQ_REJECTED = "aarq_rejected"
    LOST_FRAME = "lost_frame"
    REPEATED_FRAME = "repeated_frame"
    NS_MISMATCH = "ns_mismatch"
    BLOCK_INTERRUPTED = "block_interrupted"
    VANISH = "vanish"
    NO_SELECTIVE_ACCESS = "no_selective_access"
    # a network bridge's (TCP only)
    BRIDGE_DROP = "bridge_drop"


# plain strings: the command line offers them as choices and the tests name them in tables and ids
FAULTS: tuple[str, ...] = tuple(fault.value for fault in Fault)
# what an intermittent meter suffers now and then: faults of one cycle (unplug and meter_reset are events)
INTERMITTENT_FAULTS = (
    Fault.NO_ANSWER,
    Fault.GARBAGE,
    Fault.BAD_BCC,
    Fault.TRUNCATED,
    Fault.DROP_AFTER_IDENT,
    Fault.WRONG_BAUD,
    Fault.ECHO,
)
INTERMITTENT_RATE = 0.35  # share of an intermittent meter's cycles that go wrong
SLOW_REACTION = 1.5  # tr at its upper bound (docs/iec62056-21.md §3.1)
GARBAGE_LENGTH = 48  # printable junk instead of an identification
PUSH_NOISE_LENGTH = 16  # random bytes ahead of a push


def parse_fault(name: str | None) -> Fault | None:
    if name is None:
        return None
    try:
        return Fault(name)
    except ValueError:
        raise ValueError(f"unknown fault {name!r}; choose from {', '.join(FAULTS)}") from None


class FaultPlan:
    """The fault the meter was given (``configured``, may change at run time) and the one of the current cycle.

    ``current`` changes only when a cycle starts (``pick``), so a fault set between cycles takes effect with the
    next sign-on or push; an echo, which the line produces before the request has been recognised, follows the
    previous cycle's fault."""

    def __init__(self, configured: str | None, rng: random.Random) -> None:
        self._configured = parse_fault(configured)
        self.current: Fault | None = self._configured
        # shared with the meter, so a seed gives the same faults and the same junk run after run
        self.rng = rng
        self._reset_done = False

    @property
    def configured(self) -> Fault | None:
        return self._configured

    @configured.setter
    def configured(self, name: str | None) -> None:
        self._configured = parse_fault(name)

    def pick(self) -> None:
        """A new cycle: an intermittent meter draws its fault, any other keeps the configured one."""
        if self._configured is Fault.INTERMITTENT:
            self.current = self.rng.choice(INTERMITTENT_FAULTS) if self.rng.random() < INTERMITTENT_RATE else None
        else:
            self.current = self._configured

    # --- events of the whole run ------------------------------------------------------------------------------

    def unplugs(self) -> bool:
        """The adapter disappears and comes back periodically (pty only)."""
        return self._configured is Fault.UNPLUG

    def resets_energy(self, readouts: int) -> bool:
        """The meter is replaced or reset once, after two good readouts: its registers restart near 0."""
        if self.current is Fault.METER_RESET and readouts >= 2 and not self._reset_done:
            self._reset_done = True
            return True
        return False

    # --- questions of one cycle -------------------------------------------------------------------------------

    def answers(self) -> bool:
        """The meter sends anything at all this cycle."""
        return self.current is not Fault.NO_ANSWER

    def echoes(self) -> bool:
        """The optical head reflects what the client sends (docs/iec62056-21.md §1.4)."""
        return self.current is Fault.ECHO

    def reaction(self, normal: float) -> float:
        return SLOW_REACTION if self.current is Fault.SLOW else normal

    def babbles(self) -> bool:
        """Junk instead of an identification."""
        return self.current is Fault.GARBAGE

    def garbage(self) -> bytes:
        return bytes(self.rng.randrange(0x20, 0x7F) for _ in range(GARBAGE_LENGTH))

    def refuses_readout(self) -> bool:
        """A data readout (option select mode 0) is answered with NAK."""
        return self.current is Fault.NAK_READOUT

    def drops_after_identification(self) -> bool:
        return self.current is Fault.DROP_AFTER_IDENT

    def switched_baud(self, acknowledged: int) -> int:
        """The rate the meter really switches to: another than the one it acknowledged, under wrong_baud; none at
        all under stays_at_300."""
        if self.current is Fault.STAYS_AT_300:
            return 300
        if self.current is Fault.WRONG_BAUD and acknowledged != 300:
            return acknowledged // 2
        return acknowledged

    def block_check(self, correct: int) -> int:
        return correct ^ 0x21 if self.current is Fault.BAD_BCC else correct

    def truncate_at(self, length: int) -> int | None:
        """Where the message breaks off, or ``None`` for all of it."""
        return length // 2 if self.current is Fault.TRUNCATED else None

    # --- questions of one DLMS connection ---------------------------------------------------------------------

    def answers_snrm(self) -> bool:
        """The meter accepts the HDLC connection (UA)."""
        return self.current not in (Fault.NO_UA, Fault.NO_ANSWER)

    def refuses_association(self) -> bool:
        """The AARQ is rejected whatever it says (result rejected-permanent, no reason)."""
        return self.current is Fault.AARQ_REJECTED

    def loses_frame(self) -> bool:
        """The first answer after the association never arrives (the client must ask again)."""
        return self.current is Fault.LOST_FRAME

    def repeats_frame(self) -> bool:
        """The first answer after the association arrives twice."""
        return self.current is Fault.REPEATED_FRAME

    def breaks_sequence(self) -> bool:
        """The first answer after the association carries the wrong send sequence number N(S)."""
        return self.current is Fault.NS_MISMATCH

    def aborts_block_transfer(self) -> bool:
        """An answer in blocks breaks off after its first block (long-get-aborted)."""
        return self.current is Fault.BLOCK_INTERRUPTED

    def refuses_selective_access(self) -> bool:
        """A GET with selective access (a profile by range) is answered other-reason: the whole buffer only."""
        return self.current is Fault.NO_SELECTIVE_ACCESS

    def drops_connection(self) -> bool:
        """The network bridge resets the TCP connection halfway through the next long message (TCP only)."""
        return self.current is Fault.BRIDGE_DROP

    def vanishes(self) -> bool:
        """The meter falls silent right after it has accepted the association."""
        return self.current is Fault.VANISH

    def damage_push(self, frame: bytes) -> bytes:
        """Line noise on a DLMS push: junk ahead of it (garbage), or a bit flipped in flight (bad_bcc)."""
        if self.current is Fault.GARBAGE:
            return bytes(self.rng.randrange(256) for _ in range(PUSH_NOISE_LENGTH)) + frame
        if self.current is Fault.BAD_BCC:
            middle = len(frame) // 2
            return frame[:middle] + bytes([frame[middle] ^ 0x10]) + frame[middle + 1 :]
        return frame
