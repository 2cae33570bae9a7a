"""CircuitPython runs this file: checks the runtime, then starts the token (app.py).

It stays a .py file (CircuitPython looks for code.py); everything else may be
.mpy compiled by CircuitPython's own mpy-cross. The checks run before any
.mpy is imported, so an unsuitable CircuitPython says why instead of
failing on an incompatible .mpy file.
"""

import startup

if startup.check():
    import app

    app.App().run()
else:
    startup.maintenance()
