-- Rows the CSV parser could not split into the header's columns.
copy raw.rejected_rows (batch_id, source, line_number, raw_text, reason) from stdin (format csv)
