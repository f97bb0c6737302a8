"""Plain-Python rules of the voucher domain: no database, web or framework imports here."""
