-- The shop's revenue of a day is never negative: a negative day means a bad price reached
-- the marts (the raw gate quarantines such batches; this catches a release that should not
-- have been).
with

kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

final as (

    select kpi_date, revenue
    from kpis
    where revenue < 0

)

select * from final
