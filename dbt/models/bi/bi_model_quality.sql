-- Model quality over time: one row per training run and evaluated model (the hybrid and
-- every baseline), with the headline metrics on the run's test window.  The serving
-- champion, re-evaluated on each run's window under the name 'champion', is not a model of
-- its own: its NDCG@10 is a column of the run's rows instead.
with

model_runs as (

    select * from {{ source('ml', 'model_runs') }}

),

per_model as (

    select
        model_runs.run_id,
        model_runs.logical_date,
        model_runs.status,
        model_runs.gate_reason,
        model_runs.recorded_at,
        models.key as model_name,
        models.value -> 'overall' as overall

    from model_runs
    cross join lateral jsonb_each(coalesce(model_runs.metrics -> 'models', '{}'::jsonb)) as models

),

champion as (

    select
        run_id,
        (overall ->> 'ndcg@10')::double precision as champion_ndcg_at_10

    from per_model
    where model_name = 'champion'

),

final as (

    select
        per_model.run_id,
        per_model.logical_date,
        per_model.status,
        per_model.model_name,
        per_model.model_name like 'lightfm%' as is_lightfm,
        (overall ->> 'users')::integer as test_users,
        (overall ->> 'ndcg@10')::double precision as ndcg_at_10,
        (overall ->> 'precision@10')::double precision as precision_at_10,
        (overall ->> 'recall@10')::double precision as recall_at_10,
        (overall ->> 'hit_rate@10')::double precision as hit_rate_at_10,
        (overall ->> 'map@10')::double precision as map_at_10,
        (overall ->> 'coverage@10')::double precision as coverage_at_10,
        (overall ->> 'gini@10')::double precision as gini_at_10,
        champion.champion_ndcg_at_10,
        per_model.gate_reason,
        per_model.recorded_at

    from per_model
    left join champion
        on per_model.run_id = champion.run_id
    where per_model.model_name <> 'champion'

)

select * from final
