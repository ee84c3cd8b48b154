-- Whether the reader-facing views exist (before the first publish they do not).
select count(*) = 3
from pg_views
where schemaname = 'recs' and viewname in ('user_recommendations', 'similar_items', 'popular_items')
