-- Customer x product as of the run date, with the implicit-feedback weight the recommender
-- trains on:
--   weight = intensity (int_user_item_totals: sum over event types of
--            event_weight * log_base(1 + count), ratings scaled by stars / max)
--            * 0.5 ^ (days since the last interaction / half-life)
-- so repetition has diminishing returns and old interest fades.  A view: the decay moves
-- every weight each night, so it is applied on read, and the stored totals under it stay
-- incremental.  The run date is a scalar subquery, so readers that scan all pairs can use
-- parallel workers.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

totals as (

    select * from {{ ref('int_user_item_totals') }}

),

final as (

    select
        totals.customer_id,
        totals.product_id,
        totals.n_views,
        totals.n_carts,
        totals.n_purchases,
        totals.n_ratings,
        totals.avg_rating,
        totals.first_interaction_at,
        totals.last_interaction_at,
        (
            totals.intensity
            * {{ recency_decay('(select as_of_date from as_of) - totals.last_interaction_date') }}
        )::double precision as weight

    from totals

)

select * from final
