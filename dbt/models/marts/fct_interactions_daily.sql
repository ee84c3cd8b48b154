-- Customer x product x day counts, the base of the training data.  Incremental by day: a
-- run deletes and recomputes the days whose events changed since the newest batch it holds,
-- the days after its newest day up to the run date, and days after the run date
-- (macros/incremental.sql).
{{
    config(
        meta={'refresh_by_key': {'keys': ['event_date'], 'source': 'fct_events', 'last_date': 'event_date', 'watermark': 'max_batch_id'}},
        indexes=[
            {'columns': ['customer_id', 'product_id']},
            {'columns': ['max_batch_id']},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}
-- depends_on: {{ ref('int_as_of_date') }}

with

events as (

    select * from {{ ref('fct_events') }}

),

customer_events as (

    select *

    from events
    where customer_id is not null
    {%- if is_incremental() %}
        and {{ in_refreshed_keys() }}
    {%- endif %}

),

final as (

    select
        customer_id,
        product_id,
        event_date,
        (count(*) filter (where event_type = 'view'))::integer as n_views,
        (count(*) filter (where event_type = 'cart'))::integer as n_carts,
        (count(*) filter (where event_type = 'purchase'))::integer as n_purchases,
        coalesce(sum(quantity) filter (where event_type = 'purchase'), 0)::integer as quantity,
        (count(*) filter (where event_type = 'rating'))::integer as n_ratings,
        (avg(rating) filter (where event_type = 'rating'))::double precision as rating,
        min(event_ts) as first_event_at,
        max(event_ts) as last_event_at,
        max(batch_id) as max_batch_id

    from customer_events
    group by customer_id, product_id, event_date
    -- days stored together: a night reads and replaces a few of them
    order by event_date

)

select * from final
