select to_regclass(%(table)s) is not null
