-- Every version of every event in one shape: site events as each batch delivered them, and
-- purchases derived from order lines (the invoice plays the session; the event id derives
-- from the order line id, so reruns agree).  Per event the delivery of the newest batch is
-- current; the others carry the batch that replaced them (superseded_by_batch_id).
-- int_events_unioned is the current versions.
-- The change set: read_at_batch_id / superseded_at_batch_id stamp when a version was read /
-- replaced: the version's (the replacing) batch id, raised above every stamp stored before
-- when the batch is read after a newer one (a late commit).  So a version that became or
-- stopped being current after a model last read the change set has a stamp above the
-- newest batch id the model holds -- which is why the incremental models read changes
-- through them (changed_events in macros/incremental.sql), not through batch_id.
-- Incremental: a run reads the event and order-line batches it has no row of yet (so a
-- batch that commits after a later one is not skipped) and re-decides which delivery is
-- current for the events and invoices they hold.  A full refresh keeps only the latest
-- delivery of an invoice (int_order_lines_flagged has no older one).
{%- set unread = unread_batches(['events', 'order_lines']) if is_incremental() else none %}
{%- set floor = change_set_floor() %}
{#- the columns a stored version is carried over with (the same in both branches below) #}
{%- set stored_columns = ['event_id', 'source', 'customer_id', 'session_id', 'event_type', 'product_id', 'event_ts',
    'event_date', 'quantity', 'price', 'revenue', 'rating', 'batch_id', 'read_at_batch_id'] %}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['event_id', 'batch_id'],
        incremental_predicates=['DBT_INTERNAL_DEST.superseded_by_batch_id is null'],
        on_schema_change='append_new_columns',
        meta={'partial_indexes': [
            {'name': 'current_event_id', 'unique': true, 'column': 'event_id', 'where': 'superseded_by_batch_id is null'},
            {'name': 'superseded_at', 'column': 'superseded_at_batch_id', 'where': 'superseded_at_batch_id is not null'},
            {'name': 'current_event_date', 'column': 'event_date', 'where': 'superseded_by_batch_id is null'},
            {'name': 'current_order_session', 'column': 'session_id',
             'where': "source = 'order_lines' and superseded_by_batch_id is null"},
        ]},
        post_hook=["{{ create_partial_indexes() }}", "{{ analyze_if_new() }}"],
        indexes=[
            {'columns': ['batch_id']},
            {'columns': ['read_at_batch_id']},
        ],
    )
}}

-- depends_on: {{ ref('stg_shop__load_batches') }}

with

site_event_deliveries as (

    select * from {{ ref('stg_shop__events') }}
    {%- if unread is not none %}
    where {{ in_batches(unread) }}
    {%- endif %}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}
    {%- if unread is not none %}
    where {{ in_batches(unread) }}
    {%- endif %}

),

-- a batch holding an event twice delivers its last line
site_deliveries as (

    select
        *,
        row_number() over (
            partition by event_id, batch_id
            order by line_number desc
        ) as delivery_rank

    from site_event_deliveries

),

new_site_versions as (

    select
        event_id,
        'events'::text as source,
        customer_id,
        session_id,
        event_type,
        product_id,
        event_ts,
        event_date,
        1 as quantity,
        price,
        case when event_type = 'purchase' then price else 0 end as revenue,
        rating,
        batch_id,
        greatest(batch_id, {{ floor }}) as read_at_batch_id

    from site_deliveries
    where delivery_rank = 1

),

-- the versions that compete for current: the new deliveries and, for their events, the
-- version current until now (which may be newer than a late delivery)
site_candidates as (

    select * from new_site_versions

    {%- if unread is not none %}

    union all

    select
        {%- for column in stored_columns %}
        stored.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ this }} as stored
    where stored.superseded_by_batch_id is null
        and stored.event_id in (select event_id from new_site_versions)
    {%- endif %}

),

from_site as (

    select
        *,
        lead(batch_id) over (partition by event_id order by batch_id) as superseded_by_batch_id

    from site_candidates

),

-- int_order_lines_flagged holds the latest delivery of every invoice: all current
from_order_lines as (

    select
        'order_line-' || order_line_id as event_id,
        'order_lines'::text as source,
        customer_id,
        invoice_no as session_id,
        'purchase'::text as event_type,
        product_id,
        invoice_ts as event_ts,
        invoice_date as event_date,
        quantity,
        unit_price as price,
        line_amount as revenue,
        null::integer as rating,
        batch_id,
        greatest(batch_id, {{ floor }}) as read_at_batch_id,
        null::bigint as superseded_by_batch_id

    from order_lines
    where is_purchase

),

{% if unread is not none %}

-- the current lines of an invoice that a newer delivery replaced (whether or not the new
-- delivery still makes them purchases)
replaced_order_lines as (

    select
        {%- for column in stored_columns %}
        stored.{{ column }},
        {%- endfor %}
        deliveries.batch_id as superseded_by_batch_id

    from {{ this }} as stored
    inner join (select distinct invoice_no, batch_id from order_lines) as deliveries
        on stored.session_id = deliveries.invoice_no
        and stored.batch_id < deliveries.batch_id
    where stored.source = 'order_lines'
        and stored.superseded_by_batch_id is null

),

{% endif %}

versions as (

    select * from from_site
    union all
    select * from from_order_lines
    {%- if unread is not none %}
    union all
    select * from replaced_order_lines
    {%- endif %}

),

final as (

    select
        *,
        case
            when superseded_by_batch_id is not null then greatest(superseded_by_batch_id, {{ floor }})
        end as superseded_at_batch_id

    from versions
    {%- if unread is none %}
    -- days stored together: a night reads and replaces a few of them
    order by event_date
    {%- endif %}

)

select * from final
