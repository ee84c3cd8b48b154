-- The platform's roles: one per component, each with only the privileges it needs
-- (recsys/platform/roles.py; docs/operations.md).  Idempotent; run by `recsys warehouse init`
-- or by a DBA on an external warehouse (`recsys warehouse roles-sql` prints the whole script).
do $$
declare
    role_name text;
begin
    foreach role_name in array array['recsys_loader', 'recsys_transformer', 'recsys_quality', 'recsys_trainer',
                                     'recsys_publisher', 'recsys_crm', 'recsys_bi']
    loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I login nosuperuser nocreatedb nocreaterole noinherit', role_name);
            exception when duplicate_object then
                null;  -- created meanwhile by a concurrent init
            end;
        end if;
    end loop;
end
$$;

-- The BI role reads and nothing else, whatever a tool sends; a runaway query ends.
alter role recsys_bi set default_transaction_read_only = on;
alter role recsys_bi set statement_timeout = '5min';
