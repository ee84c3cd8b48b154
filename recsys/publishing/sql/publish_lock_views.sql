-- Every reader-facing view, in ONE fixed order, before any is replaced: a publish never
-- holds one view while it waits for another a reader holds (no deadlock with a reader that
-- reads them in any order), and the caller's lock_timeout makes it give way to readers.
lock table recs.popular_items, recs.similar_items, recs.user_recommendations in access exclusive mode
