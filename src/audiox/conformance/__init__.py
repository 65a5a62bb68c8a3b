"""Golden-vector conformance: run the official reference cases against our implementation."""
