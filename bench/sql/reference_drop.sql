drop table if exists {target}
