-- Data-quality results over time (dq.validation_results): one row per expectation per
-- validation, with the stage of the gate that ran it.
with

results as (

    select * from {{ source('dq', 'validation_results') }}

),

final as (

    select
        result_id,
        run_id,
        logical_date,
        split_part(table_name, '.', 1) as stage,
        table_name,
        suite_name,
        expectation,
        description,
        severity,
        success,
        case when success then 'passed' when severity = 'error' then 'failed' else 'warned' end as outcome,
        observed_value,
        threshold,
        validated_at

    from results

)

select * from final
