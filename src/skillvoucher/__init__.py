"""skillvoucher: electronic vocational-training vouchers."""

__version__ = "0.1.0"
