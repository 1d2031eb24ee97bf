"""Process-level tests: real node processes on 127.0.0.1, killed and restarted."""
