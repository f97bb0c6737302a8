"""Use cases: one function, one transaction each. The CLI and (later) the API call these."""
