-- Every nightly fit of the behavioural segments: k, silhouette, and the share of customers
-- who kept their segment from the previous fit.
with

fits as (

    select * from {{ source('ml', 'behaviour_segment_fits') }}

),

final as (

    select
        fit_date,
        k,
        silhouette,
        previous_fit_date,
        stability,
        n_fitted,
        n_assigned,
        fit_seconds,
        fitted_at

    from fits

)

select * from final
