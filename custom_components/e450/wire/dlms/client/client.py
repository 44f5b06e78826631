"""A DLMS/COSEM client read as a sans-IO state machine: connect (HDLC), associate, GET, release, disconnect.

Shaped like the IEC 62056-21 session (:mod:`...iec62056.session`): the driver feeds what arrived with
:meth:`DlmsClient.receive_data` and asks :meth:`DlmsClient.next_action` what to do until ``Done`` or a
:class:`~...errors.MeterError`. A table maps each state to its handler; the state changes only in :meth:`_move`.
In mode E the IEC session signs on first and hands the line over at the agreed speed (IEC 62056-21 Annex E).
Frames are :mod:`.hdlc_link`'s, APDUs :mod:`.association`'s and :mod:`.get`'s, meanings :mod:`.cosem`'s.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import replace
from enum import Enum, auto
import secrets
from typing import ClassVar, Final

from ...actions import Action, Configure, Done, Drain, Send, Wait
from ...errors import ClientProblem, DlmsClientError, MeterError
from ...framing.hdlc import DM, UA, HdlcFrame, HdlcReader
from ...iec62056.frames import INITIAL_BAUD
from ...iec62056.session import Session, SessionConfig, wire_time
from ...models import HdlcHandover, Identification, LoadProfile, Readout, Timings
from .association import (
    Association,
    ContextChoice,
    ContextRefused,
    Mechanism,
    Referencing,
    build_aarq,
    build_rlrq,
    initiate_request,
    parse_aare,
    parse_rlre,
)
from .config import ClientConfig
from .get import Answer, DataAccessResult, parse_list_results, parse_single_result as parse_single
from .hdlc_link import HdlcLink
from .hls import Ciphering
from .reading import Read, RegisterRead, Request, Scalers, list_size
from .services import LogicalNameService, Service
from .shortname import LearnNames, ShortNames, ShortNameService

FRAME_OVERHEAD: Final = 14  # flags, format, 4-byte addresses, control, HCS, FCS
# errors after which a DISC is pointless: the meter is gone or never came
_SILENT: Final = frozenset({ClientProblem.NO_UA, ClientProblem.NO_ANSWER, ClientProblem.DISCONNECTED})


class State(Enum):
    """Where a read stands."""

    START = auto()
    SIGN_ON = auto()
    CONNECT = auto()
    AWAIT_UA = auto()
    ASSOCIATE = auto()
    AUTHENTICATE = auto()  # HLS: our reply to the meter's challenge, its reply to ours
    READ = auto()
    RELEASE = auto()
    DISCONNECT = auto()
    DONE = auto()
    FAILED = auto()


_NO_DISC: Final = frozenset({State.SIGN_ON, State.CONNECT, State.AWAIT_UA, State.DISCONNECT, State.FAILED})


class DlmsClient:
    """One read of one meter: registers (:class:`~.reading.RegisterRead`, the default) or what ``read`` plans (a
    load profile, :class:`~.profile.ProfileRead`). ``scalers`` (value attribute → scaling) is kept by the caller
    across reads, so each register's ``scaler_unit`` is read once; so is ``names`` (what a short name meter's object
    list taught, :class:`~.shortname.ShortNames`), read once and proposed first by ``auto`` once known."""

    _HANDLERS: ClassVar[dict[State, Callable[[DlmsClient, float], Action]]]
    _ANSWERS: ClassVar[dict[State, Callable[[DlmsClient, bytes, float], Action]]]

    def __init__(
        self,
        config: ClientConfig | None = None,
        scalers: Scalers | None = None,
        read: Read | None = None,
        names: ShortNames | None = None,
    ):
        self.config = config = config or ClientConfig()
        self.scalers = scalers if scalers is not None else {}
        self.read: Read = read or RegisterRead(config.registers, self.scalers, config.offered)
        self.names = names if names is not None else ShortNames()
        self._plan: Read = self.read
        self._service: Service = LogicalNameService()
        self.context = ContextChoice(config.referencing, short_known=self.names.known, ciphered=config.keys is not None)
        self.link = HdlcLink(config.link)
        self._state = State.START
        self._pending: list[Action] = []
        self._reader = HdlcReader()
        self._frames: list[HdlcFrame] = []
        self._session: Session | None = Session(self._sign_on_config()) if config.mode_e else None
        self._identification: Identification | None = None
        self._baud = config.baud
        self._deadline = 0.0
        self._tries = 0
        self.stayed_at_300 = False  # mode E: the meter did not switch to the speed it acknowledged
        self._mechanism = Mechanism.LOW if config.password is not None else Mechanism.NONE
        self.ciphering: Ciphering | None = None
        if config.keys is not None:
            self._mechanism = Mechanism.HIGH_GMAC
            challenge = config.challenge if config.challenge is not None else secrets.token_bytes(16)
            self.ciphering = Ciphering(config.keys, challenge, config.invocation_counter)
        self._association: Association | None = None
        self._invoke_id = 0
        self._request = Request(())
        self._blocks: list[bytes] = []
        self._error: DlmsClientError | None = None
        self._result: Readout | LoadProfile | None = None
        self._bytes_sent = 0
        self.bytes_received = 0
        self._t_start = 0.0
        self._t_connect = 0.0

    def _sign_on_config(self) -> SessionConfig:
        session = self.config.session
        return replace(session, max_baud=min(session.max_baud, self.config.baud), hdlc=True)

    @property
    def state(self) -> State:
        """Where the read stands."""
        return self._state

    # --- inputs and outputs -------------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes that arrived from the port."""
        if self._state is State.SIGN_ON and self._session is not None:
            self._session.receive_data(data, now)
            return
        self.bytes_received += len(data)
        self._frames += self._reader.feed(data)
        self._deadline = max(self._deadline, now + self.config.response_timeout)  # the answer is arriving

    def next_action(self, now: float) -> Action:
        """What the driver must do next; raises the typed error when the read failed."""
        if self._pending:
            return self._pending.pop(0)
        try:
            return self._HANDLERS[self._state](self, now)
        except DlmsClientError as err:
            if err.reason in _SILENT or self._state in _NO_DISC:
                self._move(State.FAILED)
                raise
            self._error = err  # leave the connection properly, then report
            return self._disconnect(now)
        except MeterError:
            self._move(State.FAILED)
            raise

    def _move(self, state: State) -> None:
        """The only place the state changes."""
        self._state = state

    def _send(self, frame: bytes, now: float, timeout: float | None = None) -> Action:
        """A frame, then the answer's deadline: its wire time, one answer's, and the meter's reaction."""
        self._bytes_sent += len(frame)
        answer = self.link.negotiated.max_info_receive + FRAME_OVERHEAD
        wait = self.config.response_timeout if timeout is None else timeout
        self._deadline = now + wire_time(len(frame) + answer, self._baud) + wait
        self._pending.append(Drain())
        return Send(frame)

    # --- sign-on and connection ---------------------------------------------------------------------------------

    def _on_start(self, now: float) -> Action:
        self._t_start = now
        if self._session is not None:
            self._move(State.SIGN_ON)
            return self._on_sign_on(now)
        self._move(State.CONNECT)
        return Configure(self._baud, 8, "N")

    def _on_sign_on(self, now: float) -> Action:
        assert self._session is not None
        action = self._session.next_action(now)
        if not isinstance(action, Done):
            return action
        assert isinstance(action.result, HdlcHandover)
        self._identification = action.result.identification
        self._baud = action.result.baud
        self.bytes_received += self._session.bytes_received
        self._move(State.CONNECT)
        return self._on_connect(now)

    def _on_connect(self, now: float) -> Action:
        self._t_connect = now
        self._move(State.AWAIT_UA)
        return self._send(self.link.connect(), now)

    def _on_await_ua(self, now: float) -> Action:
        for frame in self._take_frames():
            if frame.control in (UA, DM):
                self.link.accept_ua(frame)
                self._tries = 0
                self.link.send(self._aarq())
                self._move(State.ASSOCIATE)
                return self._on_exchange(now)
        if (waiting := self._waiting(now)) is not None:
            return waiting
        if self._tries < self.config.retries:
            self._tries += 1
            return self._send(self.link.retransmit(), now)
        if self._session is not None and self._baud != INITIAL_BAUD and not self.stayed_at_300:
            # mode E: a meter (the ZMD120) that acknowledged the faster speed but stayed at 300 Bd; the IEC side
            # retries at 300 Bd too (docs/dlms-client.md §1.3)
            self.stayed_at_300, self._baud, self._tries = True, INITIAL_BAUD, 0
            self._move(State.CONNECT)
            return Configure(INITIAL_BAUD, 8, "N")
        raise DlmsClientError(ClientProblem.NO_UA, f"no UA after {self._tries + 1} SNRM at {self._baud} Bd")

    def _aarq(self) -> bytes:
        if self.ciphering is None:
            password = (self.config.password or "").encode()
            return build_aarq(self._mechanism, password, max_pdu=self.config.max_pdu, referencing=self.context.proposed)
        initiate = self.ciphering.protect(initiate_request(self.config.max_pdu))
        title = self.ciphering.keys.system_title
        return build_aarq(self._mechanism, self.ciphering.challenge, calling_title=title, user_information=initiate)

    def _take_frames(self) -> list[HdlcFrame]:
        frames, self._frames = [frame for frame in self._frames if self.link.ours(frame)], []
        return frames

    def _waiting(self, now: float) -> Action | None:
        return Wait(self._deadline) if now < self._deadline else None

    # --- APDU exchanges: associate, read, release --------------------------------------------------------------

    def _on_exchange(self, now: float) -> Action:
        while self._frames:
            frame = self._frames.pop(0)
            if not self.link.ours(frame):
                continue
            apdu = self.link.receive(frame)
            self._tries = 0
            if apdu is not None:
                return self._ANSWERS[self._state](self, apdu, now)
        if (frame_bytes := self.link.next_frame()) is not None:
            return self._send(frame_bytes, now)
        if (waiting := self._waiting(now)) is not None:
            return waiting
        if self._tries < self.config.retries:
            self._tries += 1
            return self._send(self.link.retransmit(), now)
        if self._state is State.RELEASE:  # a meter that does not release: the DISC ends the association too
            return self._disconnect(now)
        raise DlmsClientError(ClientProblem.NO_ANSWER, f"no answer in {self._state.name.lower()} at {self._baud} Bd")

    def _on_aare(self, apdu: bytes, now: float) -> Action:
        decipher = self.ciphering.initiate_response if self.ciphering is not None else None
        try:
            association = parse_aare(apdu, self._mechanism, decipher, self.context.proposed)
        except ContextRefused:
            if not self.context.other():
                raise
            # an SN meter refuses the LN context: the other one proposed, once
            self.link.send(self._aarq())
            return self._on_exchange(now)
        if self.ciphering is None:
            return self._begin(association, now)
        self._association = association  # HLS: the meter's challenge answered before anything is read
        self._invoke_id = (self._invoke_id + 1) & 0x0F
        self.link.send(self.ciphering.reply_to_hls(self._invoke_id, association.challenge))
        self._move(State.AUTHENTICATE)
        return self._on_exchange(now)

    def _on_hls_reply(self, apdu: bytes, now: float) -> Action:
        assert self.ciphering is not None and self._association is not None
        self.ciphering.check_reply(apdu, self._invoke_id)
        return self._begin(self._association, now)

    def _begin(self, association: Association, now: float) -> Action:
        self.context.proposed = association.referencing  # the one the AARE names
        if association.referencing is Referencing.SN:
            self._service = ShortNameService(self.names)
            self._plan = LearnNames(self.names, self.read)
        self._plan.begin(association, list_size(association, self.config.list_size))
        return self._next_request(now)

    def _send_apdu(self, apdu: bytes) -> None:
        """A request, glo-ciphered once the association is."""
        self.link.send(self.ciphering.protect(apdu) if self.ciphering is not None else apdu)

    def _next_request(self, now: float) -> Action:
        while (request := self._plan.next_request()) is not None:
            self._request = request
            self._invoke_id = (self._invoke_id + 1) & 0x0F
            apdu = self._service.request(self._invoke_id, request)
            if apdu is not None:
                break
            self._plan.answered(request, self._service.results(()))  # known without asking the meter
        if request is None:
            self.link.send(build_rlrq())
            self._move(State.RELEASE)
            return self._on_exchange(now)
        assert apdu is not None
        self._send_apdu(apdu)
        self._blocks = []
        self._move(State.READ)
        return self._on_exchange(now)

    def _on_get_response(self, apdu: bytes, now: float) -> Action:
        if self.ciphering is not None:
            apdu = self.ciphering.unprotect(apdu)
        try:
            answer = self._service.parse(apdu, self._invoke_id)
        except DlmsClientError as err:
            if err.reason is not ClientProblem.REJECTED or not self._request.access:
                raise
            # some meters refuse selective access with an exception-response: a refusal the read can work around
            answer = Answer((DataAccessResult.OTHER_REASON,))
        if not isinstance(answer, Answer):
            if answer.error is not None or answer.number != len(self._blocks) + 1:
                why = answer.error.name.lower() if answer.error is not None else f"block {answer.number} out of order"
                raise DlmsClientError(ClientProblem.BLOCK_TRANSFER_ABORTED, f"{why} after {len(self._blocks)} blocks")
            self._blocks.append(answer.raw)
            if not answer.last:
                self._send_apdu(self._service.next_block(self._invoke_id, answer))
                return self._on_exchange(now)
            joined = b"".join(self._blocks)
            single = len(self._request.attributes) == 1
            answer = Answer((parse_single(joined),) if single else parse_list_results(joined))
        elif self._blocks:  # a data-access-result in place of the next block
            detail = f"{answer.results[0]} after {len(self._blocks)} blocks"
            raise DlmsClientError(ClientProblem.BLOCK_TRANSFER_ABORTED, detail)
        results = self._service.results(answer.results)
        if len(results) != len(self._request.attributes):
            detail = f"{len(results)} results for {len(self._request.attributes)}"
            raise DlmsClientError(ClientProblem.MALFORMED, detail)
        self._plan.answered(self._request, results)
        return self._next_request(now)

    def _on_rlre(self, apdu: bytes, now: float) -> Action:
        with contextlib.suppress(DlmsClientError):  # the values are read: an odd answer to the release is no matter
            parse_rlre(apdu)
        return self._disconnect(now)

    # --- leaving ------------------------------------------------------------------------------------------------

    def _disconnect(self, now: float) -> Action:
        self._frames.clear()
        self._move(State.DISCONNECT)
        return self._send(self.link.disconnect(), now, self.config.disconnect_timeout)

    def _on_disconnect(self, now: float) -> Action:
        answered = any(frame.control in (UA, DM) for frame in self._take_frames())
        if not answered and (waiting := self._waiting(now)) is not None:
            return waiting
        if self._error is not None:
            raise self._error  # next_action moves to FAILED
        self._result = self._readout(now)
        self._move(State.DONE)
        if self._session is not None:  # the meter is back at 300 Bd after the disconnect; so is the line
            self._pending.append(Done(self._result))
            return Configure(300)
        return Done(self._result)

    def _readout(self, now: float) -> Readout | LoadProfile:
        timings = Timings(
            total=now - self._t_start,
            sign_on=self._t_connect - self._t_start,
            readout=now - self._t_connect,
            baud=self._baud,
            bytes_sent=self._bytes_sent,
            bytes_received=self.bytes_received,
            retried=self.link.retransmissions > 0,
        )
        return replace(self._plan.result(self._identification, timings), referencing=str(self.context.proposed))

    def _on_done(self, now: float) -> Action:
        assert self._result is not None
        return Done(self._result)

    def _on_failed(self, now: float) -> Action:
        raise DlmsClientError(ClientProblem.MALFORMED, "the read has already failed")  # a caller kept going


DlmsClient._HANDLERS = {
    State.START: DlmsClient._on_start,
    State.SIGN_ON: DlmsClient._on_sign_on,
    State.CONNECT: DlmsClient._on_connect,
    State.AWAIT_UA: DlmsClient._on_await_ua,
    State.ASSOCIATE: DlmsClient._on_exchange,
    State.AUTHENTICATE: DlmsClient._on_exchange,
    State.READ: DlmsClient._on_exchange,
    State.RELEASE: DlmsClient._on_exchange,
    State.DISCONNECT: DlmsClient._on_disconnect,
    State.DONE: DlmsClient._on_done,
    State.FAILED: DlmsClient._on_failed,
}
DlmsClient._ANSWERS = {
    State.ASSOCIATE: DlmsClient._on_aare,
    State.AUTHENTICATE: DlmsClient._on_hls_reply,
    State.READ: DlmsClient._on_get_response,
    State.RELEASE: DlmsClient._on_rlre,
}
