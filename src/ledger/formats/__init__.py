"""File formats the service writes: spreadsheets (CSV, XLSX) and PDFs. Given
rows or plain values, they know nothing of the service (a contract says so)."""
