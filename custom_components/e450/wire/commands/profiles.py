"""What the ``profile`` commands of both protocols share: the range arguments and the output (the JSON contract
``{"profile": CODE, "entries": [{"time": ISO, "values": {"1.8.0": {"value": …, "unit": …}}}]}``, or a table)."""

from __future__ import annotations

import argparse
from datetime import datetime
import json

from ..models import LoadProfile


def meter_moment(text: str) -> datetime:
    """An ISO 8601 date or date-time as naive meter time; one with an offset is converted to local time first."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


def profile_output(profile: LoadProfile, *, as_json: bool) -> str:
    """The JSON document of the contract, or one line per entry; a DLMS client's read says its referencing."""
    document = profile.as_dict()
    if profile.referencing is not None:
        document["referencing"] = profile.referencing
    if as_json:
        return json.dumps(document, indent=2)
    lines = [f"{document['profile']}: {len(profile.entries)} entries every {profile.period} s"]
    for entry in document["entries"]:
        values = "  ".join(f"{code} {v['value']} {v['unit'] or ''}".rstrip() for code, v in entry["values"].items())
        lines.append(f"  {entry['time']}  {values}")
    return "\n".join(lines)
