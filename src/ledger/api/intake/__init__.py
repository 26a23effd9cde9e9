"""Bulk intake of orders from .xlsx and .csv files (``POST /imports``,
``ledger import``, ``/ui/imports``): ``checking`` reads a file and checks
every row by the receive command's rules, ``commit`` records every order of
a valid file exactly once, ``report`` says what happened in English or
Chinese. Nothing is imported here, so the CLI starts quickly."""
