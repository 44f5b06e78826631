"""``python -m custom_components.e450.iec62056 {parse,read,probe}``: the IEC 62056-21 command line.

The protocol itself lives in :mod:`..wire` (``wire.iec62056``); this package is only the stable entry point.
"""
