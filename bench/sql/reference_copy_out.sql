copy (select * from {source}) to stdout (format binary)
