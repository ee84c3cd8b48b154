-- All-text landing zone for rows that need Postgres to judge them; gone at commit.
create temp table load_stage ({columns}, line_number bigint not null) on commit drop
