-- Customer x product totals up to the run date and the implicit-feedback intensity before
-- recency decay:
--   intensity = sum over event types of event_weight * log_base(1 + count)   (rating: * stars / max)
-- so repetition has diminishing returns.  The decay depends on the run date and is applied
-- by int_user_item_interactions, which keeps these stored totals valid from night to night.
-- Incremental by pair (macros/incremental.sql): a night recomputes, from all their days,
-- only the pairs whose days changed, that have days after its newest day up to the run
-- date, or whose last day lies after the run date.
{{
    config(
        contract={'enforced': true},
        meta={'refresh_by_key': {'keys': ['customer_id', 'product_id'], 'source': 'fct_interactions_daily', 'last_date': 'last_interaction_date', 'watermark': 'max_batch_id'}},
        indexes=[
            {'columns': ['customer_id', 'product_id'], 'unique': true},
            {'columns': ['max_batch_id']},
            {'columns': ['last_interaction_date']},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

daily as (

    select * from {{ ref('fct_interactions_daily') }}
    {%- if is_incremental() %}
    where {{ in_refreshed_keys() }}
    {%- endif %}

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
        max(daily.max_batch_id) as max_batch_id

    from daily
    -- a scalar subquery, not a cross join: the planner then estimates the rows of daily
    -- instead of multiplying them by a guess at the (unanalysed) one-row as_of table
    where daily.event_date <= (select as_of_date from as_of)
    group by daily.customer_id, daily.product_id

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
        last_interaction_date,
        (
            {{ event_weight('view') }} * {{ log_scaled('n_views') }}
            + {{ event_weight('cart') }} * {{ log_scaled('n_carts') }}
            + {{ event_weight('purchase') }} * {{ log_scaled('n_purchases') }}
            + {{ event_weight('rating') }}
                * coalesce(avg_rating / {{ var('rating_scale_max') | float }}, 0)
                * {{ log_scaled('n_ratings') }}
        )::double precision as intensity,
        max_batch_id

    from aggregated

)

select * from final
