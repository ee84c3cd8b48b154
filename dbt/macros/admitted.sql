{#- The raw rows of load batches the raw gate admitted (passed or released): a quarantined
    or pending batch never reaches staging, whatever a rerun does (recsys/ingest/quarantine.py). -#}
{% macro admitted_rows(relation) -%}
    select * from {{ relation }}
    where _batch_id in (select batch_id from {{ ref('stg_shop__load_batches') }} where is_admitted)
{%- endmacro %}
