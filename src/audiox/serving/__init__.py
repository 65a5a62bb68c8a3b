"""`audiox serve`: one process that loads a model once and serves a Gradio web UI and a JSON HTTP API
from the same FastAPI app, over one bounded job queue [extra: serve].

settings.py (the server's knobs) -> store.py (job records and result folders on disk) -> jobs.py (the
bounded queue and the model thread) -> results.py (WAV, spectrogram, muxed video per job) ->
submission.py (fields and uploads -> a checked job) -> http_api.py, api_docs.py, gradio_ui.py -> app.py.
"""
