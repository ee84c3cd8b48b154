with

source as (

    select * from {{ source('shop', 'load_batches') }}

),

final as (

    select
        batch_id,
        source as source_name,
        file_name,
        file_sha256,
        logical_date,
        rows_read,
        rows_loaded,
        rows_rejected,
        started_at,
        finished_at,
        status,
        gate_status,
        gated_at,
        status = 'succeeded' and gate_status in ('passed', 'released') as is_admitted

    from source

)

select * from final
