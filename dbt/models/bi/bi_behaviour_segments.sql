-- The behavioural segments of the latest fit: code, name, description in words, size and
-- the fit's quality (k, silhouette, night-to-night stability).
with

segments as (

    select * from {{ ref('dim_behaviour_segments') }}

),

final as (

    select
        behaviour_segment,
        behaviour_segment || ' ' || name as segment_label,
        name,
        description,
        customers,
        customer_share,
        mean_recency_days,
        mean_orders,
        mean_revenue,
        fit_date,
        k,
        silhouette,
        stability

    from segments

)

select * from final
