"""``python -m custom_components.e450.dlms {decode,listen}``: the DLMS/COSEM push command line.

The decoder itself lives in :mod:`..wire` (``wire.dlms``); this package is only the stable entry point.
"""
