{#- Incremental refresh by key.  A night recomputes only the keys (days, customers, products,
    customer x product pairs) its data touched, so its cost follows the night, not the history.

    Why not dbt's own strategies: `delete+insert` deletes only the keys present in the new
    rows, so a key whose rows all moved or vanished (an event re-sent with another day or
    customer) would keep its stale row; `microbatch` refreshes event-time windows, so a late
    correction to an older day is missed unless someone widens the window by hand.  Both
    would break "a night equals a full refresh", which tests/test_dbt_project.py checks.
    What remains custom is the key set and its delete; the rest is configuration: the models
    refreshed this way are listed once in dbt_project.yml (anchor refreshed_by_key) and name
    their key in `meta.refresh_by_key` ({keys, source, last_date, watermark}).

    - int_event_versions keeps every version of every event; superseded_by_batch_id marks the
      versions a later batch replaced, and a change-set stamp when each version was read or
      replaced.  The versions with a stamp above a batch id are the change set since a
      model holding that batch last read it ("changed_events").
    - Each incremental model remembers the newest batch it has seen (its watermark column).
      Its pre-hook "replace_refreshed_keys" writes the keys to recompute into a temporary
      table and deletes them: keys of the change set since the watermark, keys active after
      the model's newest day up to as_of_date (the days a later as-of date adds; the var
      incremental_lookback_days widens this by a margin), and stored keys whose last date is
      after as_of_date (a backfill).  The model then inserts the recomputed rows
      of exactly those keys ("in_refreshed_keys"), so a key that lost all its rows is gone.

    A model's watermark is the newest batch id among its rows; every version read or replaced
    since it carries a larger change-set stamp (int_event_versions), so a batch committed
    out of id order is not missed.  The bounds are read before the statements run and
    written as constants, so the planner sees how few rows they select and uses the
    indexes.  A full refresh (or the first run) builds everything. -#}


{#- The largest value of an expression in the model's own table (none when empty). -#}
{% macro stored_max(expression) -%}
    {%- set result = run_query('select max(' ~ expression ~ ') from ' ~ this) -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}


{#- The newest load batch the model's table has seen; -1 when it is empty. -#}
{% macro stored_watermark(column) -%}
    {%- set value = stored_max(column) -%}
    {{ return(-1 if value is none else value | int) }}
{%- endmacro %}


{#- The run's as-of date as a SQL date literal: the var, else the date int_as_of_date chose. -#}
{% macro as_of_date_value() -%}
    {%- set literal = as_of_date_literal() -%}
    {%- set chosen_by = ref('int_as_of_date') -%}
    {%- if literal is none and execute -%}
        {%- set chosen = run_query('select as_of_date from ' ~ chosen_by).columns[0].values()[0] -%}
        {%- set literal = "date '" ~ chosen ~ "'" -%}
    {%- endif -%}
    {{ return(literal or 'null::date') }}
{%- endmacro %}


{#- The smallest change-set stamp int_event_versions may give this run: one more than every
    stamp it holds (0 on a full refresh).  A version's stamp is its batch id raised to this
    floor, so a batch committed after a newer one was read still gets a stamp above every
    batch id an incremental model holds (their rows come from versions stamped earlier). -#}
{% macro change_set_floor() -%}
    {%- if not is_incremental() -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set stored = [stored_max('read_at_batch_id'), stored_max('superseded_at_batch_id')] | reject('none') | map('int') | list -%}
    {{ return((stored | max) + 1 if stored else 0) }}
{%- endmacro %}


{#- Admitted load batches of `sources` the model's table holds no row of: those a run reads.
    A batch that commits after a later one is still read; a batch that adds no row (an
    empty file, order lines without purchases) is read again, harmlessly. -#}
{% macro unread_batches(sources) -%}
    {%- set batches = ref('stg_shop__load_batches') -%}
    {%- set query -%}
        select batches.batch_id
        from {{ batches }} as batches
        where batches.is_admitted
            and batches.source_name in ('{{ sources | join("', '") }}')
            and not exists (select 1 from {{ this }} as stored where stored.batch_id = batches.batch_id)
        order by batches.batch_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | map('int') | list) }}
{%- endmacro %}


{#- Filter of a relation's rows to the given batches (false when there are none, so the
    relation is not read). -#}
{% macro in_batches(batch_ids) -%}
    {%- if batch_ids -%}
    batch_id = any(array[{{ batch_ids | join(', ') }}]::bigint[])
    {%- else -%}
    false
    {%- endif -%}
{%- endmacro %}


{#- Event versions that changed what is current after batch `watermark`: the versions read
    since and the versions replaced since (whose day, customer or product may differ), by
    int_event_versions' change-set stamps. -#}
{% macro changed_events(watermark) -%}
    select event_date, customer_id, product_id
    from {{ ref('int_event_versions') }}
    where read_at_batch_id > {{ watermark }}
    union all
    select event_date, customer_id, product_id
    from {{ ref('int_event_versions') }}
    where superseded_at_batch_id > {{ watermark }}
{%- endmacro %}


{#- The keys an incremental run recomputes (see the top of this file).
    key_columns: the model's key; source: the relation the model aggregates (has event_date
    and the key columns); last_date: the stored row's latest date (a SQL expression);
    watermark_column: the column holding the newest batch a stored row has seen. -#}
{% macro refresh_keys_sql(key_columns, source, last_date, watermark_column) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set as_of = as_of_date_value() -%}
    {%- set watermark = stored_watermark(watermark_column) -%}
    {%- set last_stored = stored_max(last_date) -%}
    select distinct {{ keys }}
    from (
        select {{ keys }}
        from ({{ changed_events(watermark) }}) as changed
        where event_date <= {{ as_of }}
        {%- if last_stored is not none %}
        union all
        select {{ keys }}
        from {{ source }}
        where event_date > date '{{ last_stored }}' - {{ var('incremental_lookback_days') | int }}
            and event_date <= {{ as_of }}
        union all
        select {{ keys }}
        from {{ this }}
        where {{ last_date }} > {{ as_of }}
        {%- endif %}
    ) as refreshed
    where {% for column in key_columns %}{{ column }} is not null{{ ' and ' if not loop.last }}{% endfor %}
{%- endmacro %}


{#- The temporary table holding this run's refreshed keys (dropped at commit). -#}
{% macro refreshed_keys_relation() -%}
    {{ adapter.quote(this.identifier ~ '__refreshed_keys') }}
{%- endmacro %}


{#- The model's `meta.refresh_by_key` settings (see the top of this file). -#}
{% macro refresh_by_key() -%}
    {%- set found = (config.get('meta') or {}).get('refresh_by_key') -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error(this ~ ' is refreshed by key but its config has no meta.refresh_by_key') }}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{#- Pre-hook of a model refreshed by key: note the keys to recompute, delete their rows. -#}
{% macro replace_refreshed_keys() -%}
    {%- if is_incremental() -%}
    {%- set settings = refresh_by_key() -%}
    {%- set key_columns = settings['keys'] -%}
    {%- set keys = key_columns | join(', ') -%}
    create temporary table {{ refreshed_keys_relation() }} on commit drop as
    {{ refresh_keys_sql(key_columns, ref(settings['source']), settings['last_date'], settings['watermark']) }};
    analyze {{ refreshed_keys_relation() }};
    delete from {{ this }}
    where ({{ keys }}) in (select {{ keys }} from {{ refreshed_keys_relation() }})
    {%- endif -%}
{%- endmacro %}


{#- Filter of the model's rows to the keys its pre-hook deleted (incremental runs only).  One
    key compares with an array of them, which the planner turns into index lookups however
    deep the filter sits in the query. -#}
{% macro in_refreshed_keys() -%}
    {%- set key_columns = refresh_by_key()['keys'] -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- if key_columns | length == 1 -%}
    {{ keys }} = any(array(select {{ keys }} from {{ refreshed_keys_relation() }}))
    {%- else -%}
    ({{ keys }}) in (select {{ keys }} from {{ refreshed_keys_relation() }})
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of the incremental models: statistics for a table built in this run (first run
    or full refresh), so the next night's plans know how its days cluster and pick the
    indexes.  Later nights append little; autovacuum keeps the statistics after that. -#}
{% macro analyze_if_new() -%}
    do $$
    begin
        if not exists (
            select 1 from pg_stats where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
        ) then
            analyze {{ this }};
        end if;
    end
    $$
{%- endmacro %}


{#- Post-hook: the partial indexes of the model's `meta.partial_indexes` (dbt-postgres declares
    whole-table indexes only).  Named after the model, created once (if not exists). -#}
{% macro create_partial_indexes() -%}
    {%- for index in (config.get('meta') or {}).get('partial_indexes', []) %}
    create {{ 'unique' if index.get('unique') }} index if not exists {{ adapter.quote(this.identifier ~ '__' ~ index['name']) }}
        on {{ this }} ({{ index['column'] }}) where {{ index['where'] }};
    {%- endfor %}
{%- endmacro %}
