copy pg_temp.load_stage from stdin
