-- Per product with site events up to the run date (fct_events): when it was first and last
-- seen and its latest positive price (ties: the higher price).  Each figure is one lookup
-- in fct_events' (product_id, event_ts) index, however many events the product has.
-- Incremental by product (macros/incremental.sql): a night recomputes only the products
-- whose events changed, that have events after its newest day up to the run date, or that
-- were last seen after the run date.
{{
    config(
        meta={'refresh_by_key': {'keys': ['product_id'], 'source': 'fct_events', 'last_date': 'last_seen_date', 'watermark': 'last_seen_batch_id'}},
        indexes=[
            {'columns': ['product_id'], 'unique': true},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}
-- depends_on: {{ ref('int_as_of_date') }}

with

products as (

    {% if is_incremental() -%}
    select product_id from {{ refreshed_keys_relation() }}
    {%- else -%}
    select distinct product_id from {{ ref('fct_events') }} where source = 'events'
    {%- endif %}

),

final as (

    select
        products.product_id,
        first_seen.event_ts as first_seen_at,
        last_seen.event_ts as last_seen_at,
        last_seen.event_date as last_seen_date,
        last_seen.batch_id as last_seen_batch_id,
        latest_price.price as latest_price,
        latest_price.event_ts as latest_price_at

    from products
    inner join lateral (
        select events.event_ts
        from {{ ref('fct_events') }} as events
        where events.product_id = products.product_id
            and events.source = 'events'
        order by events.event_ts
        limit 1
    ) as first_seen on true
    inner join lateral (
        select events.event_ts, events.event_date, events.batch_id
        from {{ ref('fct_events') }} as events
        where events.product_id = products.product_id
            and events.source = 'events'
        order by events.event_ts desc, events.batch_id desc
        limit 1
    ) as last_seen on true
    left join lateral (
        select events.price, events.event_ts
        from {{ ref('fct_events') }} as events
        where events.product_id = products.product_id
            and events.source = 'events'
            and events.price > 0
        order by events.event_ts desc, events.price desc
        limit 1
    ) as latest_price on true

)

select * from final
