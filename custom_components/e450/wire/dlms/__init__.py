"""DLMS/COSEM pushes: A-XDR, APDUs, ciphering, body layouts and the push decoder."""
