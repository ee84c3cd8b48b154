-- Every version of every event in one shape: site events as each batch delivered them, and
-- purchases derived from order lines (the invoice plays the session; the event id derives
-- from the order line id, so reruns agree).  superseded_by_batch_id is the batch that
-- replaced a version (a later delivery of the same event, or of the same invoice); the
-- current versions (null) are int_events_unioned.  Old site versions stay, so the versions
-- loaded after any batch and the ones they replaced are the change set every incremental
-- model refreshes from (macros/incremental.sql).
-- Incremental: a run reads only the batches newer than the newest it holds, inserts their
-- versions and marks the current versions they replace.  Order-line invoices keep only
-- their latest delivery on a full refresh (int_order_lines_flagged has no older one).
{%- set watermark = stored_watermark('batch_id') if is_incremental() else none %}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['event_id', 'batch_id'],
        incremental_predicates=['DBT_INTERNAL_DEST.superseded_by_batch_id is null'],
        on_schema_change='append_new_columns',
        post_hook=["{{ analyze_if_new() }}"],
        indexes=[
            {'columns': ['event_id'], 'unique': true, 'where': 'superseded_by_batch_id is null'},
            {'columns': ['batch_id']},
            {'columns': ['superseded_by_batch_id'], 'where': 'superseded_by_batch_id is not null'},
            {'columns': ['event_date'], 'where': 'superseded_by_batch_id is null'},
            {'columns': ['session_id'], 'where': "source = 'order_lines' and superseded_by_batch_id is null"},
        ],
    )
}}

with

site_event_versions as (

    select * from {{ ref('stg_shop__events') }}
    {%- if watermark is not none %}
    where batch_id > {{ watermark }}
    {%- endif %}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}
    {%- if watermark is not none %}
    where batch_id > {{ watermark }}
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

    from site_event_versions

),

from_site as (

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
        lead(batch_id) over (partition by event_id order by batch_id) as superseded_by_batch_id

    from site_deliveries
    where delivery_rank = 1

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
        null::bigint as superseded_by_batch_id

    from order_lines
    where is_purchase

),

{% if watermark is not none %}

-- current versions the new batches replace: the same site event, or any line of a
-- re-delivered invoice (whether or not the new delivery still makes it a purchase)
replacing_site_batches as (

    select
        event_id,
        min(batch_id) as batch_id

    from from_site
    group by event_id

),

replacing_invoice_batches as (

    select
        invoice_no,
        min(batch_id) as batch_id

    from order_lines
    group by invoice_no

),

replaced as (

    select
        previous.event_id,
        previous.source,
        previous.customer_id,
        previous.session_id,
        previous.event_type,
        previous.product_id,
        previous.event_ts,
        previous.event_date,
        previous.quantity,
        previous.price,
        previous.revenue,
        previous.rating,
        previous.batch_id,
        replacing_site_batches.batch_id as superseded_by_batch_id

    from {{ this }} as previous
    inner join replacing_site_batches
        on previous.event_id = replacing_site_batches.event_id
    where previous.superseded_by_batch_id is null

    union all

    select
        previous.event_id,
        previous.source,
        previous.customer_id,
        previous.session_id,
        previous.event_type,
        previous.product_id,
        previous.event_ts,
        previous.event_date,
        previous.quantity,
        previous.price,
        previous.revenue,
        previous.rating,
        previous.batch_id,
        replacing_invoice_batches.batch_id as superseded_by_batch_id

    from {{ this }} as previous
    inner join replacing_invoice_batches
        on previous.session_id = replacing_invoice_batches.invoice_no
    where previous.source = 'order_lines'
        and previous.superseded_by_batch_id is null

),

{% endif %}

final as (

    select * from from_site
    union all
    select * from from_order_lines
    {%- if watermark is not none %}
    union all
    select * from replaced
    {%- else %}
    -- days stored together: a night reads and replaces a few of them
    order by event_date
    {%- endif %}

)

select * from final
