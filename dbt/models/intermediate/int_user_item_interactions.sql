-- Customer x product as of the run date, with the implicit-feedback weight the recommender
-- trains on:
--   weight = sum over event types of event_weight * log_base(1 + count)   (rating: * stars / max)
--            * 0.5 ^ (days since the last interaction / half-life)
-- so repetition has diminishing returns and old interest fades.
-- The primary key is added after the insert (macro add_primary_key), not declared in the
-- contract, which would create it before millions of row-by-row inserts.
{{ config(
    materialized='table',
    contract={'enforced': true},
    post_hook=["{{ add_primary_key(['customer_id', 'product_id']) }}"],
) }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

daily as (

    select * from {{ ref('fct_interactions_daily') }}

),

aggregated as (

    select
        daily.customer_id,
        daily.product_id,
        sum(daily.n_views)::integer as n_views,
        sum(daily.n_carts)::integer as n_carts,
        sum(daily.n_purchases)::integer as n_purchases,
        sum(daily.n_ratings)::integer as n_ratings,
        sum(daily.rating * daily.n_ratings) / nullif(sum(daily.n_ratings), 0) as avg_rating,
        min(daily.first_event_at) as first_interaction_at,
        max(daily.last_event_at) as last_interaction_at,
        max(daily.event_date) as last_interaction_date,
        (select as_of_date from as_of) as as_of_date

    from daily
    -- a scalar subquery, not a cross join: the planner then estimates the rows of daily
    -- instead of multiplying them by a guess at the (unanalysed) one-row as_of table
    where daily.event_date <= (select as_of_date from as_of)
    group by daily.customer_id, daily.product_id

),

weighted as (

    select
        *,
        {{ event_weight('view') }} * {{ log_scaled('n_views') }}
        + {{ event_weight('cart') }} * {{ log_scaled('n_carts') }}
        + {{ event_weight('purchase') }} * {{ log_scaled('n_purchases') }}
        + {{ event_weight('rating') }}
            * coalesce(avg_rating / {{ var('rating_scale_max') | float }}, 0)
            * {{ log_scaled('n_ratings') }}
            as intensity,
        {{ recency_decay('as_of_date - last_interaction_date') }} as recency_decay

    from aggregated

),

final as (

    select
        customer_id,
        product_id,
        n_views,
        n_carts,
        n_purchases,
        n_ratings,
        avg_rating,
        first_interaction_at,
        last_interaction_at,
        (intensity * recency_decay)::double precision as weight

    from weighted

)

select * from final
