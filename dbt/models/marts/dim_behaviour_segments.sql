-- The behavioural segments of the run date (the latest recsys.segments fit on or before
-- it): one row per segment with its name and description in words, size, the fit's k,
-- silhouette and night-to-night stability, and the members' mean recency, orders and spend.
with

fit as (

    select * from {{ ref('int_behaviour_segment_fit') }}

),

centroids as (

    select * from {{ source('ml', 'behaviour_segment_centroids') }}

),

final as (

    select
        centroids.segment as behaviour_segment,
        centroids.name,
        centroids.description,
        centroids.customers,
        centroids.customers::double precision / sum(centroids.customers) over () as customer_share,
        (centroids.profile ->> 'recency_days')::double precision as mean_recency_days,
        (centroids.profile ->> 'frequency')::double precision as mean_orders,
        (centroids.profile ->> 'monetary')::double precision as mean_revenue,
        fit.fit_date,
        fit.k,
        fit.silhouette,
        fit.stability

    from centroids
    inner join fit
        on centroids.fit_date = fit.fit_date

)

select * from final
