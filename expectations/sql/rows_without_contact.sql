-- Rows that name neither a customer nor an address ({columns}: the contact columns, all
-- empty or null): nobody could be matched to them.
with b as (select * from {batch})

select *
from b
where concat_ws('', {columns}) ~ '^\s*$'
