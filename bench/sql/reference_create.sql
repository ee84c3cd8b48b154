create unlogged table {target} (like {source})
