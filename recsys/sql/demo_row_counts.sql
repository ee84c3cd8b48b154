-- Rows per table after a demo run (printed by `recsys demo`).
select 'raw.load_batches' as table_name, count(*) as n from raw.load_batches
union all select 'raw.rejected_rows', count(*) from raw.rejected_rows
union all select 'raw.events', count(*) from raw.events
union all select 'raw.order_lines', count(*) from raw.order_lines
union all select 'marts.fct_events', count(*) from marts.fct_events
union all select 'marts.fct_order_lines', count(*) from marts.fct_order_lines
union all select 'marts.fct_interactions_daily', count(*) from marts.fct_interactions_daily
union all select 'marts.fct_daily_kpis', count(*) from marts.fct_daily_kpis
union all select 'marts.fct_product_weekly_demand', count(*) from marts.fct_product_weekly_demand
union all select 'marts.dim_customers', count(*) from marts.dim_customers
union all select 'marts.dim_products', count(*) from marts.dim_products
union all select 'intermediate.int_user_item_interactions', count(*) from intermediate.int_user_item_interactions
union all select 'dq.validation_results', count(*) from dq.validation_results
union all select 'ml.model_runs', count(*) from ml.model_runs
union all select 'recs.user_recommendations', count(*) from recs.user_recommendations
union all select 'recs.similar_items', count(*) from recs.similar_items
union all select 'recs.popular_items', count(*) from recs.popular_items
order by table_name
