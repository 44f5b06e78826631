"""IEC 62056-21 (modes A-D): messages, data-set grammar, the read session and mode D. No DLMS, no HDLC here."""
