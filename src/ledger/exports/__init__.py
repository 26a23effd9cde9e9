"""Every row of a read-model listing for a file: each listing's columns and
items, read from the views a page at a time and put in the listing's order
(``ledger.formats`` writes them as CSV, XLSX or PDF)."""
