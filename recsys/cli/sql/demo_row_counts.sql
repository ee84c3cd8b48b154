-- Rows per table after a demo run (printed by `recsys demo`). `kind` separates the data,
-- which a rerun of the same dates leaves unchanged, from run history, which grows by design.
select 'data' as kind, 'raw.load_batches' as table_name, count(*) as n from raw.load_batches
union all select 'data', 'raw.rejected_rows', count(*) from raw.rejected_rows
union all select 'data', 'raw.events', count(*) from raw.events
union all select 'data', 'raw.order_lines', count(*) from raw.order_lines
union all select 'data', 'marts.fct_events', count(*) from marts.fct_events
union all select 'data', 'marts.fct_order_lines', count(*) from marts.fct_order_lines
union all select 'data', 'marts.fct_interactions_daily', count(*) from marts.fct_interactions_daily
union all select 'data', 'marts.fct_daily_kpis', count(*) from marts.fct_daily_kpis
union all select 'data', 'marts.fct_product_weekly_demand', count(*) from marts.fct_product_weekly_demand
union all select 'data', 'marts.dim_customers', count(*) from marts.dim_customers
union all select 'data', 'marts.dim_products', count(*) from marts.dim_products
union all select 'data', 'intermediate.int_user_item_interactions', count(*) from intermediate.int_user_item_interactions
union all select 'data', 'ml.model_runs', count(*) from ml.model_runs
union all select 'data', 'recs.user_recommendations', count(*) from recs.user_recommendations
union all select 'data', 'recs.similar_items', count(*) from recs.similar_items
union all select 'data', 'recs.popular_items', count(*) from recs.popular_items
union all select 'history', 'dq.validation_results', count(*) from dq.validation_results
union all select 'history', 'recs.runs', count(*) from recs.runs
order by kind, table_name
