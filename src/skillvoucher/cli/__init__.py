"""The ``skillvoucher`` command line: thin Typer commands over ``skillvoucher.application``."""
