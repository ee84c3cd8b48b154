-- What each role may read and write beyond its own schema.  Run after the tables exist;
-- "alter default privileges" covers the tables the owners create later (dbt models,
-- partitions, publishing runs).

-- Relations created before the roles belong to their schema's owner.
do $$
declare
    owned record;
begin
    for owned in
        select c.oid::regclass as relation, n.nspname as schema_name, r.rolname as owner
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_roles r on r.oid = n.nspowner
        where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
            and c.relowner <> n.nspowner
            and n.nspname in ('raw', 'staging', 'intermediate', 'marts', 'bi', 'crm', 'dq', 'ml', 'recs')
            and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
    loop
        execute format('alter table %s owner to %I', owned.relation, owned.owner);
    end loop;
end
$$;

-- raw: the transformer (dbt sources) and the quality gate read it; the gate records its verdict.
grant usage on schema raw to recsys_transformer, recsys_quality;
grant select on all tables in schema raw to recsys_transformer, recsys_quality;
alter default privileges for role recsys_loader in schema raw grant select on tables to recsys_transformer, recsys_quality;
grant update (gate_status, gated_at) on raw.load_batches to recsys_quality;

-- The warehouse models: gates, training and scoring read them; BI reads marts and bi only.
grant usage on schema staging, intermediate, marts to recsys_quality, recsys_trainer, recsys_publisher;
grant select on all tables in schema staging, intermediate, marts to recsys_quality, recsys_trainer, recsys_publisher;
alter default privileges for role recsys_transformer in schema staging, intermediate, marts
    grant select on tables to recsys_quality, recsys_trainer, recsys_publisher;
grant usage on schema marts, bi to recsys_bi;
grant select on all tables in schema marts, bi to recsys_bi;
alter default privileges for role recsys_transformer in schema marts, bi grant select on tables to recsys_bi;

-- crm: contacts for campaigns, readable by the CRM role only.
grant usage on schema crm to recsys_crm;
grant select on all tables in schema crm to recsys_crm;
alter default privileges for role recsys_transformer in schema crm grant select on tables to recsys_crm;

-- dq, ml: results and the registry, read by the BI models and by the gates.
grant usage on schema dq to recsys_transformer;
grant select on all tables in schema dq to recsys_transformer;
alter default privileges for role recsys_quality in schema dq grant select on tables to recsys_transformer;
grant usage on schema ml to recsys_transformer, recsys_publisher, recsys_quality;
grant select on all tables in schema ml to recsys_transformer, recsys_publisher, recsys_quality;
alter default privileges for role recsys_trainer in schema ml
    grant select on tables to recsys_transformer, recsys_publisher, recsys_quality;

-- recs: the BI models, the output gate and CRM read it; CRM writes only the audiences.
grant usage on schema recs to recsys_transformer, recsys_quality, recsys_crm;
grant select on all tables in schema recs to recsys_transformer, recsys_quality, recsys_crm;
alter default privileges for role recsys_publisher in schema recs
    grant select on tables to recsys_transformer, recsys_quality, recsys_crm;
-- The reader-facing recs views are security_invoker, and Postgres checks the tables under
-- such a view as the current user even when a bi view (owned by the transformer) reads it:
-- the BI role needs select on the run tables for bi.bi_recommendations to work, but gets no
-- usage on the schema, so it still cannot name anything in recs itself.
grant select on all tables in schema recs to recsys_bi;
alter default privileges for role recsys_publisher in schema recs grant select on tables to recsys_bi;
grant insert, delete on recs.campaign_audiences to recsys_crm;

-- Campaigns: the CRM role records sends, what they held, skips and measured uplift.
grant insert, delete on recs.campaign_items, recs.campaign_results to recsys_crm;
grant insert, update, delete on recs.campaign_deliveries to recsys_crm;
grant insert on recs.campaign_log to recsys_crm;
