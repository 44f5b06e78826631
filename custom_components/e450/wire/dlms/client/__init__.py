"""The DLMS/COSEM client: a meter read over HDLC by logical or short names (docs/dlms-client.md). Shares A-XDR,
ciphering and units with the push decoder one level up."""
