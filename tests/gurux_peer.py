"""gurux-dlms (GPL-2.0) as an independent DLMS/COSEM implementation, for tests only: its client reads the simulated
meter (so the meter our client is tested against is proven by someone else's client), and its translator parses the
frames our client sends. Nothing outside tests/ may import this module or gurux_dlms."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSTranslator, GXReplyData
from gurux_dlms.enums import Authentication, Command, InterfaceType, Security
from gurux_dlms.enums.TranslatorOutputType import TranslatorOutputType
from gurux_dlms.secure import GXDLMSSecureClient
import serialx

EXCHANGE_TIMEOUT = 5.0


def gurux_client(
    client: int = 16, password: str | None = None, physical: int = 17, *, logical_names: bool = True
) -> Any:
    """A logical-name (or, ``logical_names`` False, short-name) client over HDLC, as Gurux's own reader example
    sets one up (``-r sn``)."""
    authentication = Authentication.LOW if password else Authentication.NONE
    server = GXDLMSClient.getServerAddress(1, physical)
    return GXDLMSClient(logical_names, client, server, authentication, password, InterfaceType.HDLC)


def gurux_secure_client(client: int, ek: bytes, ak: bytes, system_title: bytes = b"GRX00001") -> Any:
    """A logical-name client with HLS-GMAC (mechanism 5) and authenticated encryption, as Gurux's reader example
    sets one up with ``-C AuthenticationEncryption -a HighGMAC``."""
    secure = GXDLMSSecureClient(
        True, client, GXDLMSClient.getServerAddress(1, 17), Authentication.HIGH_GMAC, None, InterfaceType.HDLC
    )
    secure.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    secure.ciphering.systemTitle = system_title
    secure.ciphering.blockCipherKey = ek
    secure.ciphering.authenticationKey = ak
    return secure


class GuruxReader:
    """Gurux's ``GXDLMSReader.readDLMSPacket``/``readDataBlock`` loop on an asyncio serialx port."""

    def __init__(self, serial: Any, client: Any) -> None:
        self.serial = serial
        self.client = client

    async def packet(self, data: bytes | None, reply: Any) -> None:
        buffer = GXByteBuffer()
        notify = GXReplyData()
        async with asyncio.timeout(EXCHANGE_TIMEOUT):
            if data is not None:
                await self.serial.write(bytes(data))
            while not self.client.getData(buffer, reply, notify):
                buffer.set(await self.serial.read(4096))

    async def block(self, messages: Iterable[bytes] | bytes | None, reply: Any) -> None:
        if messages is None:
            return
        for message in [messages] if isinstance(messages, bytes | bytearray) else messages:
            reply.clear()
            await self.packet(message, reply)
            while reply.isMoreData():
                await self.packet(None if reply.isStreaming() else self._receiver_ready(reply), reply)

    def _receiver_ready(self, reply: Any) -> Any:
        """The next frame or block. gurux-dlms's SN client forgets the command its next-block request belongs to
        (``settings.command`` is none by then and the request goes out as ``00 01 05 …``): it is a ReadRequest."""
        if not self.client.useLogicalNameReferencing:
            self.client.settings.command = Command.READ_REQUEST
        return self.client.receiverReady(reply)

    async def connect(self) -> None:
        reply = GXReplyData()
        await self.packet(self.client.snrmRequest(), reply)
        self.client.parseUAResponse(reply.data)
        reply = GXReplyData()
        await self.block(self.client.aarqRequest(), reply)
        self.client.parseAareResponse(reply.data)
        if self.client.authentication == Authentication.HIGH_GMAC:  # the challenges (GXDLMSReader.initializeConnection)
            reply = GXReplyData()
            await self.block(self.client.getApplicationAssociationRequest(), reply)
            self.client.parseApplicationAssociationResponse(reply.data)

    async def read(self, item: Any, attribute: int) -> Any:
        reply = GXReplyData()
        await self.block(self.client.read(item, attribute), reply)
        return self.client.updateValue(item, attribute, reply.value)

    async def read_list(self, items: list[tuple[Any, int]]) -> None:
        reply = GXReplyData()
        values: list[Any] = []
        for message in self.client.readList(items):
            reply.clear()
            await self.block(message, reply)
            values.extend(reply.value)
        self.client.updateValues(items, values)

    async def objects(self) -> Any:
        reply = GXReplyData()
        await self.block(self.client.getObjectsRequest(), reply)
        return self.client.parseObjects(reply.data, True)

    async def close(self) -> None:
        reply = GXReplyData()
        await self.block(self.client.releaseRequest(), reply)
        reply = GXReplyData()
        await self.packet(self.client.disconnectRequest(), reply)


async def open_hdlc(port: str) -> Any:
    serial = serialx.async_serial_for_url(port, baudrate=9600, byte_size=8, parity="N", stopbits=1, exclusive=True)
    async with asyncio.timeout(EXCHANGE_TIMEOUT):
        await serial.open()
    return serial


def translate(frame: bytes, keys: tuple[bytes, bytes, bytes] | None = None) -> str:
    """Gurux's reading of one HDLC frame, as XML (its interface type pinned, see docs: the translator's
    ``decryptManufacturer`` bug). With ``keys`` (EK, AK, the client's system title) it deciphers glo- requests
    and shows their plain APDU in a comment."""
    translator = GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML)
    translator.interfaceType = InterfaceType.HDLC
    if keys is not None:
        translator.comments = True
        translator.security = Security.AUTHENTICATION_ENCRYPTION
        translator.blockCipherKey, translator.authenticationKey, translator.systemTitle = keys
    return str(translator.messageToXml(GXByteBuffer(frame)))
