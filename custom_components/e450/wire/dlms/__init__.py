"""DLMS/COSEM: what pushes and the client share (A-XDR, the push APDUs, ciphering, units) here; the push decoder in
:mod:`.push`, the client in :mod:`.client`."""
