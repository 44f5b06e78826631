"""Framing that several protocols share: HDLC (IEC 62056-46)."""
