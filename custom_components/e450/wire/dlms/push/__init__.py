"""DLMS/COSEM pushes: a meter's data-notifications decoded as they arrive (docs/dlms.md); one body reader per
layout (:mod:`.bodies`). Shares A-XDR, ciphering and the push APDUs with the client one level up."""
