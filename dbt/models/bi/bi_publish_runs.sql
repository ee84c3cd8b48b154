-- Every publishing run: status, counts, timings and model version (recs.runs, readable).
with

runs as (

    select * from {{ source('recs', 'runs') }}

),

final as (

    select
        run_id,
        status,
        context_date,
        business_date,
        model_version,
        k,
        n_customers,
        n_rows,
        n_similar,
        n_popular,
        (timings ->> 'write_seconds')::double precision as write_seconds,
        (timings ->> 'index_seconds')::double precision as index_seconds,
        (timings ->> 'validate_seconds')::double precision as validate_seconds,
        extract(epoch from finished_at - started_at) as build_seconds,
        message,
        started_at,
        finished_at,
        published_at

    from runs

)

select * from final
