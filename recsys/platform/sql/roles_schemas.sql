-- Each schema belongs to the component that writes it; a superuser running this keeps
-- ownership consistent on warehouses initialised before the roles existed.
create schema if not exists raw authorization recsys_loader;
create schema if not exists staging authorization recsys_transformer;
create schema if not exists intermediate authorization recsys_transformer;
create schema if not exists marts authorization recsys_transformer;
create schema if not exists bi authorization recsys_transformer;
create schema if not exists crm authorization recsys_transformer;
create schema if not exists dq authorization recsys_quality;
create schema if not exists ml authorization recsys_trainer;
create schema if not exists recs authorization recsys_publisher;

alter schema raw owner to recsys_loader;
alter schema staging owner to recsys_transformer;
alter schema intermediate owner to recsys_transformer;
alter schema marts owner to recsys_transformer;
alter schema bi owner to recsys_transformer;
alter schema crm owner to recsys_transformer;
alter schema dq owner to recsys_quality;
alter schema ml owner to recsys_trainer;
alter schema recs owner to recsys_publisher;

-- Nobody but the owners creates objects in the public schema.
revoke create on schema public from public;

-- Tables, views and materialized views created before the roles existed pass to their
-- schema's owner (sequences of identity columns follow their table).
do $$
declare
    item record;
begin
    for item in
        select c.oid::regclass as relation, c.relkind, n.nspowner::regrole as owner
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'intermediate', 'marts', 'bi', 'crm', 'dq', 'ml', 'recs')
          and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and c.relowner <> n.nspowner
    loop
        execute format(
            'alter %s %s owner to %I',
            case item.relkind when 'v' then 'view' when 'm' then 'materialized view'
                when 'f' then 'foreign table' else 'table' end,
            item.relation, item.owner
        );
    end loop;
end
$$;
