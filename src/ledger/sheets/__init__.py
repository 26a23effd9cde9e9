"""Orders in spreadsheet files: the template's columns, reading .xlsx and .csv
files into cells, writing the template. Knows nothing of the service."""
