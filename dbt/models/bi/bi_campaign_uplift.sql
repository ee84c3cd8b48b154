-- Measured uplift of every campaign send (recsys.campaigns.results), for dashboards.
with

results as (

    select * from {{ source('recs', 'campaign_results') }}

),

final as (

    select
        campaign,
        send_date,
        metric,
        comparison,
        n_treatment,
        n_control,
        treatment,
        control,
        effect,
        ci_lower,
        ci_upper,
        rel_effect,
        p_value,
        confidence_level,
        covariate,
        srm_p_value,
        srm_flag,
        window_closed,
        ci_lower > 0 or ci_upper < 0 as is_significant,
        as_of_date,
        measured_at

    from results

)

select * from final
