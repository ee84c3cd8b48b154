-- Published recommendations (recsys.publishing.runs writes them).
-- Each run's rows live in tables of their own, recs.<kind>__<run_id>, created like the
-- templates below; the names readers use (recs.user_recommendations, recs.similar_items,
-- recs.popular_items) are views over the current run's tables, replaced in one
-- transaction, so a reader sees one complete run, never a mix.

create sequence if not exists recs.run_number;

create table if not exists recs.runs (
    run_id text primary key,
    status text not null check (status in ('building', 'current', 'previous', 'failed', 'purged')),
    context_date date not null,
    business_date date,
    model_version text,
    k integer not null,
    n_customers bigint,
    n_rows bigint,
    n_similar bigint,
    n_popular bigint,
    timings jsonb not null default '{}'::jsonb,
    message text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    published_at timestamptz
);

-- The night a run was published for (its lists are for context_date, the send date after
-- it); warehouses from before the column get it here, null on their old runs.
alter table recs.runs add column if not exists business_date date;

-- At most one run is the one readers see.
create unique index if not exists runs_one_current on recs.runs ((true)) where status = 'current';

-- Blocks of customers already written to a run (a retried Airflow task skips them).
create table if not exists recs.run_blocks (
    run_id text not null references recs.runs (run_id) on delete cascade,
    kind text not null,
    block_key text not null,
    n_rows bigint not null,
    written_at timestamptz not null default now(),
    primary key (run_id, kind, block_key)
);

create table if not exists recs._user_recommendations_template (
    run_id text not null,
    customer_id text not null,
    rank smallint not null,
    product_id text not null,
    score double precision not null,
    raw_score double precision not null,
    season_factor double precision not null,
    event_factor double precision not null,
    country_factor double precision not null,
    recent_factor double precision not null,
    promotion_factor double precision not null,
    reason_code text not null,
    reason_ref text,
    source text not null,
    model_version text,
    context_date date not null,
    generated_at timestamptz not null,
    stock_factor double precision not null default 0
);

-- Templates from before the stock demotion get its column (last, so a run's view keeps the
-- column order of the runs before it).
alter table recs._user_recommendations_template
    add column if not exists stock_factor double precision not null default 0;

create table if not exists recs._similar_items_template (
    run_id text not null,
    product_id text not null,
    rank smallint not null,
    similar_product_id text not null,
    score double precision not null
);

create table if not exists recs._popular_items_template (
    run_id text not null,
    segment text not null,
    country text not null,
    rank smallint not null,
    product_id text not null,
    score double precision not null
);

-- The reader-facing views start over the empty templates (before the first publish).
do $$
begin
    if to_regclass('recs.user_recommendations') is null then
        create view recs.user_recommendations with (security_invoker = true) as select * from recs._user_recommendations_template;
    end if;
    if to_regclass('recs.similar_items') is null then
        create view recs.similar_items with (security_invoker = true) as select * from recs._similar_items_template;
    end if;
    if to_regclass('recs.popular_items') is null then
        create view recs.popular_items with (security_invoker = true) as select * from recs._popular_items_template;
    end if;
end
$$;

-- CRM campaign audiences: who was sent what, and who was held out (recsys.publishing.exports).
create table if not exists recs.campaign_audiences (
    campaign text not null,
    send_date date not null,
    customer_id text not null,
    run_id text not null,
    in_holdout boolean not null,
    holdout_bucket double precision not null,
    holdout_share double precision not null,
    recorded_at timestamptz not null default now(),
    primary key (campaign, send_date, customer_id)
);

-- Campaigns (recsys.campaigns): the arm of every eligible customer.  'treatment' is sent,
-- 'holdout' is the campaign's own control, 'global_control' the persistent share of
-- customers never sent any campaign; in_holdout is true for both controls.
alter table recs.campaign_audiences add column if not exists arm text
    check (arm in ('treatment', 'holdout', 'global_control'));
alter table recs.campaign_audiences add column if not exists control_bucket double precision;

-- What each customer of a send got (treatment) or would have got (controls): attribution
-- of purchases to recommended products, and the same share in every arm.
create table if not exists recs.campaign_items (
    campaign text not null,
    send_date date not null,
    customer_id text not null,
    rank smallint not null,
    product_id text not null,
    reason_code text,
    reason_ref text,
    primary key (campaign, send_date, customer_id, rank)
);

-- One row per campaign and send date delivered to its destination: a rerun finds it and
-- skips the send (recs.campaign_log records the skip).
create table if not exists recs.campaign_deliveries (
    campaign text not null,
    send_date date not null,
    run_id text not null,
    layout text not null,
    tool_campaign_name text not null,
    destination text not null,
    location text not null,
    attribution_days integer not null,
    holdout_share double precision not null,
    counts jsonb not null,
    definition jsonb not null,
    manifest_sha256 text not null,
    delivered_at timestamptz not null default now(),
    primary key (campaign, send_date)
);

create table if not exists recs.campaign_log (
    campaign text not null,
    send_date date not null,
    action text not null check (action in ('delivered', 'skipped')),
    reason text not null,
    logged_at timestamptz not null default now()
);

-- Uplift of each send (recsys.campaigns.results): treatment against the campaign holdout
-- and against the global control, intention to treat, with CUPED and a sample-ratio test.
create table if not exists recs.campaign_results (
    campaign text not null,
    send_date date not null,
    metric text not null,
    comparison text not null check (comparison in ('holdout', 'global_control')),
    n_treatment bigint not null,
    n_control bigint not null,
    treatment double precision,
    control double precision,
    effect double precision,
    ci_lower double precision,
    ci_upper double precision,
    rel_effect double precision,
    p_value double precision,
    confidence_level double precision not null,
    covariate text,
    srm_p_value double precision,
    srm_flag boolean not null,
    window_closed boolean not null,
    as_of_date date not null,
    measured_at timestamptz not null default now(),
    primary key (campaign, send_date, metric, comparison)
);
