drop table if exists pg_temp.load_stage
