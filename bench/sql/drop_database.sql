drop database if exists {database} with (force)
