"""The command lines (``python -m custom_components.e450.iec62056 …`` and ``… .dlms …``): thin entry points over
the wire package, with JSON output that other tools rely on."""
