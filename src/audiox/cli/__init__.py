"""The `audiox` command line: one thin file per verb over the library API."""
