"""What an order file may hold (docs/files.md, "Limits")."""

MAX_FILE_BYTES = 10 * 2**20
MAX_UNPACKED_BYTES = 64 * 2**20  # a workbook's parts, unpacked
MAX_PARTS = 1000
MAX_COLUMNS = 100
MAX_ROWS = 20_000  # order rows (lines), beside the header and the rows above it
HEADER_WINDOW = 10  # the header is one of the first rows
MAX_GRID_ROWS = MAX_ROWS + HEADER_WINDOW + 1
